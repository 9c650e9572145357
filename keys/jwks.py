"""Tokens of an external issuer (the operators' OIDC provider), verified against the
keys of its JWKS document: read from a file, never from the network or the token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import jwt

from keys.errors import MalformedDocument, TokenRejected
from keys.tokens import (
    DEFAULT_LEEWAY,
    HUB_ROLES,
    MAX_LIFETIME,
    TOKEN_TYPE,
    Role,
    VerificationRules,
    VerifiedToken,
    utc_now,
)

# An external issuer's subjects are not staff ids: any printable text up to this length.
_MAX_EXTERNAL_SUBJECT = 255

_JWK_ALGORITHMS: dict[tuple[str, str | None], str] = {
    ("OKP", "Ed25519"): "EdDSA",
    ("EC", "P-256"): "ES256",
    ("RSA", None): "RS256",
}


class JwksTokenVerifier:
    """Verifies tokens of one external issuer (the operators' OIDC provider) against the
    keys of its JWKS document, which the hub reads from a file: never from the network
    and never from the token."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: dict[str, Any],
        algorithms: tuple[str, ...] = ("EdDSA", "ES256", "RS256"),
        token_types: tuple[str, ...] = (TOKEN_TYPE,),
        allowed_roles: frozenset[Role] = HUB_ROLES,
        max_lifetime: timedelta = MAX_LIFETIME,
        leeway: timedelta = DEFAULT_LEEWAY,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.issuer = issuer
        self._keys = _load_jwks(jwks, algorithms)
        self._rules = VerificationRules(
            audience=audience,
            algorithms=algorithms,
            token_types=token_types,
            allowed_roles=allowed_roles,
            max_lifetime=max_lifetime,
            leeway=leeway,
            clock=clock,
        )

    def verify(self, token: str) -> VerifiedToken:
        """Return the verified claims, or raise `TokenRejected` naming the broken rule."""
        rules = self._rules
        header, kid, payload = rules.split(token)
        if payload.get("iss") != self.issuer:
            raise TokenRejected("claim 'iss' is not the configured operator issuer")
        entry = self._keys.get(kid)
        if entry is None:
            raise TokenRejected(f"key {kid!r} is not in the issuer's key set")
        key, alg = entry
        if header["alg"] != alg:
            raise TokenRejected(f"key {kid!r} is an {alg} key; the token says {header['alg']}")
        claims = rules.decode(token, key, self.issuer, payload)
        issued, expires = rules.check_times(claims)
        subject, jti, roles = rules.check_identity(
            claims, lambda s: 0 < len(s) <= _MAX_EXTERNAL_SUBJECT and s.isprintable()
        )
        return VerifiedToken(self.issuer, subject, roles, issued, expires, jti, kid)


def _load_jwks(jwks: dict[str, Any], algorithms: tuple[str, ...]) -> dict[str, tuple[Any, str]]:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise MalformedDocument("a JWKS document is an object with a 'keys' list", "JWKS")
    keys: dict[str, tuple[Any, str]] = {}
    for i, item in enumerate(jwks["keys"]):
        where = f"JWKS keys[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("kid"), str):
            raise MalformedDocument("every key needs a 'kid'", where)
        if item.get("use", "sig") != "sig":
            continue
        if any(k in item for k in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise MalformedDocument(
                "holds private or symmetric key material; publish public keys only", where
            )
        kty, crv = str(item.get("kty")), item.get("crv")
        alg = _JWK_ALGORITHMS.get((kty, str(crv) if kty != "RSA" and crv is not None else None))
        if alg is None or item.get("alg", alg) != alg:
            raise MalformedDocument("unsupported key type or algorithm", where)
        if alg not in algorithms:
            continue
        try:
            keys[item["kid"]] = (jwt.PyJWK.from_dict(item, algorithm=alg).key, alg)
        except jwt.PyJWTError as exc:
            raise MalformedDocument(str(exc), where) from None
    if not keys:
        raise MalformedDocument("no usable signing key", "JWKS")
    return keys
