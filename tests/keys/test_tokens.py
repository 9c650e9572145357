"""Token verification: one accepted token, and a catalogue of forged and broken ones,
each rejected with the reason a person would look for."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keys import (
    AgencyIdentity,
    KeyRegistry,
    Role,
    TokenRejected,
    TokenVerifier,
    issue_token,
)
from keys.canonical import b64encode, b64url_encode
from tests.factories import T0, agencies

AUDIENCE = "pprl-hub"


@dataclass
class Ctx:
    ids: dict[str, AgencyIdentity]
    registry: KeyRegistry

    @property
    def dcfs(self) -> AgencyIdentity:
        return self.ids["DCFS"]

    def header(self, **changes: Any) -> dict[str, Any]:
        header: dict[str, Any] = {"alg": "EdDSA", "typ": "at+jwt", "kid": self.dcfs.signing_key_id}
        return _apply(header, changes)

    def claims(self, **changes: Any) -> dict[str, Any]:
        iat = int((T0 - timedelta(minutes=1)).timestamp())
        claims: dict[str, Any] = {
            "iss": "DCFS",
            "sub": "cm-0042",
            "aud": AUDIENCE,
            "iat": iat,
            "exp": iat + 900,
            "jti": "jti-1",
            "roles": ["case_manager"],
        }
        return _apply(claims, changes)

    def signed(
        self,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        key: Ed25519PrivateKey | None = None,
    ) -> str:
        return forge(header or self.header(), claims or self.claims(), key or self.dcfs.signing_key)


_DROP = object()


def _apply(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for name, value in changes.items():
        if value is _DROP:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def _segment(value: dict[str, Any] | str) -> str:
    raw = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return b64url_encode(raw.encode())


def forge(
    header: dict[str, Any] | str,
    claims: dict[str, Any] | str,
    key: Ed25519PrivateKey | bytes | None,
) -> str:
    """A compact JWS signed with an Ed25519 key, HMAC-signed with raw bytes, or unsigned."""
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    if key is None:
        signature = b""
    elif isinstance(key, bytes):
        signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    else:
        signature = key.sign(signing_input.encode())
    return f"{signing_input}.{b64url_encode(signature)}"


def _public_raw(identity: AgencyIdentity) -> bytes:
    return identity.signing_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def _public_pem(identity: AgencyIdentity) -> bytes:
    return identity.signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _flip_last_signature_bit(token: str) -> str:
    head, body, sig = token.split(".")
    from keys.canonical import b64url_decode

    raw = bytearray(b64url_decode(sig))
    raw[-1] ^= 1
    return f"{head}.{body}.{b64url_encode(bytes(raw))}"


def _swap_payload(ctx: Ctx) -> str:
    head, _, sig = ctx.signed().split(".")
    return f"{head}.{_segment(ctx.claims(sub='cm-9999'))}.{sig}"


def _swap_header(ctx: Ctx) -> str:
    _, body, sig = ctx.signed().split(".")
    return f"{_segment(ctx.header(typ='application/at+jwt'))}.{body}.{sig}"


def _attacker_jwk(ctx: Ctx) -> str:
    attacker = Ed25519PrivateKey.generate()
    raw = attacker.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    return ctx.signed(header=ctx.header(jwk=jwk, kid=_DROP), key=attacker)


def _revoked(ctx: Ctx) -> str:
    ctx.registry.revoke("DCFS", ctx.dcfs.signing_key_id, T0 - timedelta(minutes=5))
    return ctx.signed()


def _key_of_other_agency(ctx: Ctx) -> str:
    djj = ctx.ids["DJJ"]
    return ctx.signed(header=ctx.header(kid=djj.signing_key_id), key=djj.signing_key)


def _not_yet_valid_at_iat(ctx: Ctx) -> str:
    # A key registered after the token claims to have been issued (backdating).
    iat = int((T0 - timedelta(days=40)).timestamp())
    return ctx.signed(claims=ctx.claims(iat=iat, exp=iat + 600))


def _duplicate_sub(ctx: Ctx) -> str:
    body = json.dumps(ctx.claims(), separators=(",", ":"))
    body = body.replace('"sub":"cm-0042"', '"sub":"cm-0042","sub":"cm-9999"')
    return forge(ctx.header(), body, ctx.dcfs.signing_key)


# name -> (token builder, expected reason)
BAD_TOKENS: dict[str, tuple[Callable[[Ctx], str], str]] = {
    "alg none": (lambda c: forge(c.header(alg="none"), c.claims(), None), "alg 'none'"),
    "alg None": (lambda c: forge(c.header(alg="None"), c.claims(), None), "alg 'None'"),
    "alg NONE": (lambda c: forge(c.header(alg="NONE"), c.claims(), None), "alg 'NONE'"),
    "alg nOnE with a signature": (
        lambda c: c.signed(header=c.header(alg="nOnE")),
        "alg 'nOnE'",
    ),
    "HS256 keyed with the raw public key": (
        lambda c: forge(c.header(alg="HS256"), c.claims(), _public_raw(c.dcfs)),
        "alg 'HS256'",
    ),
    "HS256 keyed with the PEM public key": (
        lambda c: forge(c.header(alg="HS256"), c.claims(), _public_pem(c.dcfs)),
        "alg 'HS256'",
    ),
    "alg ES256": (lambda c: c.signed(header=c.header(alg="ES256")), "alg 'ES256'"),
    "alg lower-case eddsa": (lambda c: c.signed(header=c.header(alg="eddsa")), "alg 'eddsa'"),
    "alg missing": (lambda c: c.signed(header=c.header(alg=_DROP)), "'alg' missing"),
    "aud of another service": (
        lambda c: c.signed(claims=c.claims(aud="other")),
        "'aud' must be exactly",
    ),
    "aud missing": (lambda c: c.signed(claims=c.claims(aud=_DROP)), "'aud' missing"),
    "aud list naming us and another": (
        lambda c: c.signed(claims=c.claims(aud=[AUDIENCE, "other"])),
        "'aud' must be exactly",
    ),
    "iss unknown agency": (
        lambda c: c.signed(claims=c.claims(iss="NOBODY")),
        "'NOBODY' is not registered",
    ),
    "iss missing": (lambda c: c.signed(claims=c.claims(iss=_DROP)), "'iss' missing"),
    "typ missing": (lambda c: c.signed(header=c.header(typ=_DROP)), "typ must be"),
    "typ JWT": (lambda c: c.signed(header=c.header(typ="JWT")), "typ must be"),
    "sub missing": (lambda c: c.signed(claims=c.claims(sub=_DROP)), "'sub' missing"),
    "sub empty": (lambda c: c.signed(claims=c.claims(sub="")), "'sub' is not a staff id"),
    "sub holds a name": (lambda c: c.signed(claims=c.claims(sub="Jane Doe")), "not a staff id"),
    "sub holds a user name": (
        lambda c: c.signed(claims=c.claims(sub="jane.doe")),
        "not a staff id",
    ),
    "exp missing": (lambda c: c.signed(claims=c.claims(exp=_DROP)), "'exp' missing"),
    "iat missing": (lambda c: c.signed(claims=c.claims(iat=_DROP)), "'iat' missing"),
    "expired": (
        lambda c: c.signed(
            claims=c.claims(
                iat=int((T0 - timedelta(hours=1)).timestamp()),
                exp=int((T0 - timedelta(minutes=5)).timestamp()),
            )
        ),
        "expired",
    ),
    "lifetime over the cap": (
        lambda c: c.signed(claims=c.claims(exp=int((T0 + timedelta(days=1)).timestamp()))),
        "lifetime over the cap",
    ),
    "issued in the future": (
        lambda c: c.signed(
            claims=c.claims(
                iat=int((T0 + timedelta(minutes=10)).timestamp()),
                exp=int((T0 + timedelta(minutes=20)).timestamp()),
            )
        ),
        "issued in the future",
    ),
    "exp as a string": (
        lambda c: c.signed(claims=c.claims(exp=str(c.claims()["exp"]))),
        "'exp' must be an integer",
    ),
    "nbf in the future": (
        lambda c: c.signed(claims=c.claims(nbf=int((T0 + timedelta(minutes=5)).timestamp()))),
        "not valid yet",
    ),
    "unknown kid": (
        lambda c: c.signed(header=c.header(kid="ed25519:" + "0" * 32)),
        "not registered to agency DCFS",
    ),
    "kid missing": (lambda c: c.signed(header=c.header(kid=_DROP)), "'kid' missing"),
    "kid of the sealing key": (
        lambda c: c.signed(header=c.header(kid=c.dcfs.sealing_key_id)),
        "not an ed25519 key",
    ),
    "key of another agency": (_key_of_other_agency, "not registered to agency DCFS"),
    "revoked key": (_revoked, "revoked"),
    "key not yet valid when issued": (_not_yet_valid_at_iat, "not yet valid"),
    "attacker key under our kid": (
        lambda c: c.signed(key=Ed25519PrivateKey.generate()),
        "signature does not verify",
    ),
    "tampered header": (_swap_header, "signature does not verify"),
    "tampered payload": (_swap_payload, "signature does not verify"),
    "tampered signature": (
        lambda c: _flip_last_signature_bit(c.signed()),
        "signature does not verify",
    ),
    "signature stripped": (lambda c: c.signed().rsplit(".", 1)[0] + ".", "signature missing"),
    "crit header": (lambda c: c.signed(header=c.header(crit=["exp"])), "'crit'"),
    "jku header": (
        lambda c: c.signed(header=c.header(jku="https://attacker.example/jwks.json")),
        "'jku' is not accepted",
    ),
    "x5u header": (
        lambda c: c.signed(header=c.header(x5u="https://attacker.example/cert.pem")),
        "'x5u' is not accepted",
    ),
    "jwk header with the attacker's key": (_attacker_jwk, "'jwk' is not accepted"),
    "x5c header": (
        lambda c: c.signed(header=c.header(x5c=[b64encode(b"not a certificate")])),
        "'x5c' is not accepted",
    ),
    "unexpected header parameter": (
        lambda c: c.signed(header=c.header(zip="DEF")),
        "unexpected header parameter 'zip'",
    ),
    "roles missing": (lambda c: c.signed(claims=c.claims(roles=_DROP)), "'roles' missing"),
    "roles empty": (lambda c: c.signed(claims=c.claims(roles=[])), "non-empty list"),
    "role an agency may not grant": (
        lambda c: c.signed(claims=c.claims(roles=["hub_operator"])),
        "may not grant",
    ),
    "unknown role": (lambda c: c.signed(claims=c.claims(roles=["root"])), "unknown role"),
    "jti missing": (lambda c: c.signed(claims=c.claims(jti=_DROP)), "'jti' missing"),
    "duplicate claim": (_duplicate_sub, "duplicate key 'sub'"),
    "payload not an object": (
        lambda c: forge(c.header(), "[1,2,3]", c.dcfs.signing_key),
        "payload is not a JSON object",
    ),
    "header not JSON": (
        lambda c: b64url_encode(b"{alg:EdDSA}") + "." + c.signed().split(".", 1)[1],
        "header: not valid JSON",
    ),
    "padded base64url": (
        lambda c: c.signed().split(".")[0] + "=." + c.signed().split(".", 1)[1],
        "must not be padded",
    ),
    "two parts only": (lambda c: ".".join(c.signed().split(".")[:2]), "three dot-separated"),
    "four parts": (lambda c: c.signed() + ".x", "three dot-separated"),
    "oversized": (
        lambda c: c.signed(claims=c.claims(pad="x" * 9000)),
        "longer than 8192",
    ),
    "empty": (lambda c: "", "no token"),
}


@pytest.fixture
def ctx() -> Ctx:
    ids, registry = agencies("DCFS", "DJJ")
    return Ctx(ids, registry)


def _verifier(ctx: Ctx) -> TokenVerifier:
    return TokenVerifier(ctx.registry, audience=AUDIENCE, clock=lambda: T0)


def test_the_catalogue_holds_at_least_thirty_distinct_bad_tokens(ctx: Ctx) -> None:
    tokens = {build(ctx) for build, _ in BAD_TOKENS.values()}
    assert len(tokens) >= 30


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_bad_token_is_rejected_with_a_clear_reason(ctx: Ctx, name: str) -> None:
    build, reason = BAD_TOKENS[name]
    token = build(ctx)
    with pytest.raises(TokenRejected) as info:
        _verifier(ctx).verify(token)
    assert reason in info.value.reason, info.value.reason
    assert "Ask your agency node for a new token" in info.value.advice()


def test_well_formed_token_is_accepted(ctx: Ctx) -> None:
    verified = _verifier(ctx).verify(ctx.signed())
    assert verified.issuer == "DCFS"
    assert verified.subject == "cm-0042"
    assert verified.roles == {Role.CASE_MANAGER}
    assert verified.key_id == ctx.dcfs.signing_key_id


def test_issued_token_round_trips_with_the_documented_claims(ctx: Ctx) -> None:
    token = issue_token(
        ctx.dcfs,
        subject="cm-0042",
        audience=AUDIENCE,
        roles=[Role.CASE_MANAGER, Role.SUPERVISOR],
        now=T0,
    )
    head, body, _ = token.split(".")
    from keys.canonical import b64url_decode

    assert json.loads(b64url_decode(head)) == {
        "alg": "EdDSA",
        "typ": "at+jwt",
        "kid": ctx.dcfs.signing_key_id,
    }
    claims = json.loads(b64url_decode(body))
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "jti", "roles"}
    assert claims["exp"] - claims["iat"] == 15 * 60
    verified = _verifier(ctx).verify(token)
    assert verified.roles == {Role.CASE_MANAGER, Role.SUPERVISOR}


def test_token_is_accepted_until_expiry_plus_leeway_and_not_after(ctx: Ctx) -> None:
    token = issue_token(
        ctx.dcfs, subject="cm-1", audience=AUDIENCE, roles=[Role.CASE_MANAGER], now=T0
    )
    expiry = T0 + timedelta(minutes=15)

    def at(when: datetime) -> TokenVerifier:
        return TokenVerifier(ctx.registry, audience=AUDIENCE, clock=lambda: when)

    at(expiry + timedelta(seconds=29)).verify(token)
    with pytest.raises(TokenRejected, match="expired"):
        at(expiry + timedelta(seconds=30)).verify(token)


def test_revocation_applies_to_tokens_already_issued(ctx: Ctx) -> None:
    token = issue_token(
        ctx.dcfs, subject="cm-1", audience=AUDIENCE, roles=[Role.CASE_MANAGER], now=T0
    )
    _verifier(ctx).verify(token)
    ctx.registry.revoke("DCFS", ctx.dcfs.signing_key_id, T0)
    with pytest.raises(TokenRejected, match="revoked"):
        _verifier(ctx).verify(token)
