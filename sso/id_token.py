"""Checking an ID token (OpenID Connect Core 1.0, section 3.1.3.7) with joserfc, the JOSE
library Authlib's authors maintain: a fixed list of algorithms, the key chosen by the
token's `kid` from the provider's published keys, issuer, audience, expiry, issue time
and the nonce this sign-in sent."""

from __future__ import annotations

import hmac
import time
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from sso.errors import SignInRejected
from sso.provider import OpenIdProvider, key_id

ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA")
LEEWAY_SECONDS = 60


def _rejected(what: str) -> SignInRejected:
    return SignInRejected(
        f"the sign-in provider's answer was refused ({what})",
        "Sign in again; if it keeps happening, tell the hub operators.",
    )


def verify_id_token(
    provider: OpenIdProvider, token: str, *, client_id: str, nonce: str
) -> dict[str, Any]:
    """The ID token's claims, or `SignInRejected` naming the check that failed."""
    if token.count(".") != 2:
        raise _rejected("the ID token is not a JWT")
    keys = provider.keys_for(key_id(token))
    try:
        decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError):
        raise _rejected("its signature did not verify") from None
    claims = dict(decoded.claims)
    if str(claims.get("iss", "")).rstrip("/") != provider.issuer:
        raise _rejected("it names another issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise _rejected("it was issued for another application")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise _rejected("it was issued for several applications")
    now = time.time()
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, int) or expires + LEEWAY_SECONDS < now:
        raise _rejected("it has expired")
    if not isinstance(issued, int) or issued - LEEWAY_SECONDS > now:
        raise _rejected("it was issued in the future")
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, nonce):
        raise _rejected("it answers another sign-in")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise _rejected("it names nobody")
    return claims
