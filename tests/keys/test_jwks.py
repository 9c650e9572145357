"""Operator and auditor tokens from an external issuer, verified against its JWKS."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keys import JwksTokenVerifier, LocalIssuer, MalformedDocument, Role, TokenRejected
from keys.tokens import issue_token
from tests.factories import T0, agencies

ISSUER = "https://idp.example.gov/realms/hub"
AUDIENCE = "pprl-hub"


def _verifier(issuer: LocalIssuer, **kwargs: Any) -> JwksTokenVerifier:
    return JwksTokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks=issuer.jwks(), clock=lambda: T0, **kwargs
    )


def test_operator_token_verifies_and_round_trips_through_files(tmp_path: Path) -> None:
    issuer = LocalIssuer.create(ISSUER)
    issuer.save(tmp_path / "idp")
    loaded = LocalIssuer.load(tmp_path / "idp")
    token = loaded.issue(
        subject="operator@state.example.gov", audience=AUDIENCE, roles=[Role.HUB_OPERATOR], now=T0
    )
    verified = _verifier(issuer).verify(token)
    assert verified.issuer == ISSUER
    assert verified.roles == {Role.HUB_OPERATOR}


def _forge(header: dict[str, Any], claims: dict[str, Any], key: Any, alg: str = "EdDSA") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers=header)


def _claims(**changes: Any) -> dict[str, Any]:
    iat = int((T0 - timedelta(minutes=1)).timestamp())
    base = {
        "iss": ISSUER,
        "sub": "op-1",
        "aud": AUDIENCE,
        "iat": iat,
        "exp": iat + 600,
        "jti": "j",
        "roles": ["hub_operator"],
    }
    return {**base, **changes}


def test_bad_operator_tokens_are_refused() -> None:
    issuer = LocalIssuer.create(ISSUER)
    verifier = _verifier(issuer)
    good_header = {"typ": "at+jwt", "kid": issuer.kid}
    cases = {
        "another issuer": (
            _forge(good_header, _claims(iss="https://evil.example"), issuer.key),
            "operator issuer",
        ),
        "unknown kid": (
            _forge({**good_header, "kid": "nope"}, _claims(), issuer.key),
            "not in the issuer's key set",
        ),
        "key not in the set": (
            _forge(good_header, _claims(), Ed25519PrivateKey.generate()),
            "signature does not verify",
        ),
        "agency role": (
            _forge(good_header, _claims(roles=["case_manager"]), issuer.key),
            "may not grant",
        ),
        "ES256 alg with an EdDSA key": (
            _forge(good_header, _claims(), generate_private_key(SECP256R1()), alg="ES256"),
            "is an EdDSA key",
        ),
        "expired": (
            _forge(
                good_header, _claims(exp=int((T0 - timedelta(seconds=60)).timestamp())), issuer.key
            ),
            "expired",
        ),
        "jwk header": (
            _forge({**good_header, "jwk": issuer.jwks()["keys"][0]}, _claims(), issuer.key),
            "'jwk' is not accepted",
        ),
    }
    for name, (token, reason) in cases.items():
        with pytest.raises(TokenRejected) as info:
            verifier.verify(token)
        assert reason in info.value.reason, name


def test_agency_tokens_never_pass_as_operator_tokens() -> None:
    ids, _ = agencies("DCFS")
    token = issue_token(
        ids["DCFS"], subject="cm-1", audience=AUDIENCE, roles=[Role.SUPERVISOR], now=T0
    )
    with pytest.raises(TokenRejected, match="operator issuer"):
        _verifier(LocalIssuer.create(ISSUER)).verify(token)


def test_jwks_with_private_material_is_refused() -> None:
    issuer = LocalIssuer.create(ISSUER)
    jwks = issuer.jwks()
    jwks["keys"][0]["d"] = "c2VjcmV0"
    with pytest.raises(MalformedDocument, match="private or symmetric"):
        JwksTokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks)


def test_local_issuer_grants_only_operator_roles() -> None:
    with pytest.raises(MalformedDocument, match="may grant only"):
        LocalIssuer.create(ISSUER).issue(subject="x", audience=AUDIENCE, roles=[Role.CASE_MANAGER])
