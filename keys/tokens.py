"""Bearer tokens an agency issues to its case managers, stewards and node.

Tokens are JWTs (RFC 7519) in the access-token profile of RFC 9068: `typ` `at+jwt`,
signed with the agency's Ed25519 key (`alg` `EdDSA`), with claims `iss` (the agency id),
`sub`, `aud`, `exp`, `iat`, `jti` and `roles`.

The verifier follows RFC 8725 (JWT best current practices): one algorithm, fixed here and
never read from the token; the signing key comes only from the registry entry of the
issuing agency (so a key of another agency, or one named by a `jku`/`x5u`/`jwk`/`x5c`
header, can never verify); every claim is required and typed; the lifetime is capped; and
header and payload are parsed with a strict JSON parser before the signature is checked,
so a token with duplicate keys cannot mean one thing to us and another to a library.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keys import canonical
from keys._internal.names import is_staff_id
from keys.errors import KeysError, MalformedDocument, TokenRejected
from keys.identity import AgencyIdentity
from keys.registry import SigningKeyLookup

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"  # noqa: S105  (a media type, not a secret)
DEFAULT_LIFETIME = timedelta(minutes=15)
MAX_LIFETIME = timedelta(hours=1)
DEFAULT_LEEWAY = timedelta(seconds=30)
MAX_TOKEN_BYTES = 8192

_REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti", "roles")
_ALLOWED_HEADER = frozenset({"alg", "typ", "kid"})
# Headers that tell a verifier where to find a key. Honouring any of them lets the token
# choose the key that verifies it; keys come only from the registry.
_KEY_LOCATION_HEADERS = ("jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256")


class Role(StrEnum):
    """What a token's bearer may do at the hub."""

    AGENCY_NODE = "agency_node"
    CASE_MANAGER = "case_manager"
    SUPERVISOR = "supervisor"
    HUB_OPERATOR = "hub_operator"
    AUDITOR = "auditor"


# An agency speaks for its own node and staff; operator and auditor roles are granted by
# the hub's own issuer, never by an agency.
AGENCY_ROLES = frozenset({Role.AGENCY_NODE, Role.CASE_MANAGER, Role.SUPERVISOR})


def _utc_now() -> datetime:
    return datetime.now(UTC)


def issue_token(
    identity: AgencyIdentity,
    *,
    subject: str,
    audience: str,
    roles: Iterable[Role],
    lifetime: timedelta = DEFAULT_LIFETIME,
    now: datetime | None = None,
) -> str:
    """Sign an access token for `subject` (a case-manager id, never a name)."""
    role_list = sorted({Role(r) for r in roles})
    if not role_list:
        raise MalformedDocument("at least one role is required", "token")
    if not set(role_list) <= AGENCY_ROLES:
        raise MalformedDocument(
            f"an agency may grant only {', '.join(sorted(AGENCY_ROLES))}", "token"
        )
    if not timedelta(seconds=1) <= lifetime <= MAX_LIFETIME:
        raise MalformedDocument(
            f"lifetime must be between 1 s and {int(MAX_LIFETIME.total_seconds())} s", "token"
        )
    if not is_staff_id(subject):
        raise MalformedDocument(
            "subject must be a staff id such as cm-0042 (letters, then digits), never a name",
            "token",
        )
    issued = int((now or _utc_now()).timestamp())
    claims = {
        "iss": identity.agency_id,
        "sub": subject,
        "aud": audience,
        "iat": issued,
        "exp": issued + int(lifetime.total_seconds()),
        "jti": secrets.token_urlsafe(16),
        "roles": [str(r) for r in role_list],
    }
    return jwt.encode(
        claims,
        identity.signing_key,
        algorithm=ALGORITHM,
        headers={"typ": TOKEN_TYPE, "kid": identity.signing_key_id},
    )


@dataclass(frozen=True)
class VerifiedToken:
    """The claims of a token that passed every check."""

    issuer: str
    subject: str
    roles: frozenset[Role]
    issued_at: datetime
    expires_at: datetime
    token_id: str
    key_id: str


class TokenVerifier:
    """Verifies agency-issued tokens for one audience against a key registry."""

    def __init__(
        self,
        keys: SigningKeyLookup,
        *,
        audience: str,
        max_lifetime: timedelta = MAX_LIFETIME,
        leeway: timedelta = DEFAULT_LEEWAY,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._keys = keys
        self._audience = audience
        self._max_lifetime = max_lifetime
        self._leeway = leeway
        self._clock = clock

    def verify(self, token: str) -> VerifiedToken:
        """Return the verified claims, or raise `TokenRejected` naming the broken rule."""
        header, payload = _split(token)
        kid = _check_header(header)
        now = self._clock()
        key = self._key(payload, kid, now)
        claims = self._decode(token, key, payload)
        issued, expires = self._check_times(claims, now)
        subject, jti, roles = _check_identity_claims(claims)
        return VerifiedToken(
            issuer=claims["iss"],
            subject=subject,
            roles=roles,
            issued_at=issued,
            expires_at=expires,
            token_id=jti,
            key_id=kid,
        )

    def _key(self, payload: dict[str, Any], kid: str, now: datetime) -> Ed25519PublicKey:
        """The issuer's registered key `kid`, valid both now and when the token was issued."""
        issuer = payload.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise TokenRejected("claim 'iss' missing or not a string")
        iat = payload.get("iat")
        if type(iat) is not int:
            raise TokenRejected("claim 'iat' missing or not an integer")
        try:
            issued = datetime.fromtimestamp(iat, UTC)
        except (OverflowError, OSError, ValueError):
            raise TokenRejected("claim 'iat' is out of range") from None
        try:
            key = self._keys.signing_key_at(issuer, kid, now)
            self._keys.signing_key_at(issuer, kid, issued)
        except KeysError as exc:
            raise TokenRejected(f"signing key: {exc}") from None
        return key

    def _decode(self, token: str, key: Ed25519PublicKey, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=payload["iss"],
                options={
                    "require": list(_REQUIRED_CLAIMS),
                    "strict_aud": True,
                    # Times are checked by _check_times against the injected clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise TokenRejected("signature does not verify") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("claim 'aud' must be exactly this hub's audience") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"claim {exc.claim!r} missing") from None
        except jwt.PyJWTError as exc:
            raise TokenRejected(str(exc)) from None
        if claims != payload:
            raise TokenRejected("payload parsed differently by two parsers")
        return claims

    def _check_times(self, claims: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
        for name in ("exp", "iat", "nbf"):
            if name in claims and type(claims[name]) is not int:
                raise TokenRejected(f"claim {name!r} must be an integer NumericDate")
        issued = datetime.fromtimestamp(claims["iat"], UTC)
        try:
            expires = datetime.fromtimestamp(claims["exp"], UTC)
        except (OverflowError, OSError, ValueError):
            raise TokenRejected("claim 'exp' is out of range") from None
        if issued > now + self._leeway:
            raise TokenRejected("issued in the future (check the issuer's clock)")
        if expires <= now - self._leeway:
            raise TokenRejected("expired")
        if expires <= issued:
            raise TokenRejected("expires before it was issued")
        if expires - issued > self._max_lifetime:
            raise TokenRejected(
                f"lifetime over the cap of {int(self._max_lifetime.total_seconds())} s"
            )
        if "nbf" in claims and claims["nbf"] > (now + self._leeway).timestamp():
            raise TokenRejected("not valid yet (nbf)")
        return issued, expires


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload of a compact JWS, parsed strictly; the signature must be there."""
    if not isinstance(token, str) or not token:
        raise TokenRejected("no token")
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenRejected(f"token longer than {MAX_TOKEN_BYTES} bytes")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenRejected("not a compact JWS (expected three dot-separated parts)")
    header = _segment(parts[0], "header")
    # The header is judged first, so an `alg: none` token is refused as such.
    _check_header(header)
    payload = _segment(parts[1], "payload")
    if not parts[2]:
        raise TokenRejected("signature missing")
    return header, payload


def _check_header(header: dict[str, Any]) -> str:
    """Apply the fixed header rules; returns the key id."""
    alg = header.get("alg")
    if alg is None:
        raise TokenRejected("header 'alg' missing")
    if alg != ALGORITHM:
        raise TokenRejected(f"alg {alg!r} is not accepted (only {ALGORITHM})")
    if "crit" in header:
        raise TokenRejected("header 'crit' is present; no extensions are understood")
    for name in _KEY_LOCATION_HEADERS:
        if name in header:
            raise TokenRejected(
                f"header {name!r} is not accepted: keys come only from the agency registry"
            )
    extra = set(header) - _ALLOWED_HEADER
    if extra:
        raise TokenRejected(f"unexpected header parameter {sorted(extra)[0]!r}")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in (TOKEN_TYPE, f"application/{TOKEN_TYPE}"):
        raise TokenRejected(f"typ must be {TOKEN_TYPE!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRejected("header 'kid' missing")
    return kid


def _check_identity_claims(claims: dict[str, Any]) -> tuple[str, str, frozenset[Role]]:
    subject = claims["sub"]
    if not is_staff_id(subject):
        raise TokenRejected("claim 'sub' is not a staff id")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 1 <= len(jti) <= 128:
        raise TokenRejected("claim 'jti' must be a short string")
    roles = claims["roles"]
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise TokenRejected("claim 'roles' must be a non-empty list of strings")
    try:
        role_set = frozenset(Role(r) for r in roles)
    except ValueError:
        raise TokenRejected("claim 'roles' names an unknown role") from None
    if not role_set <= AGENCY_ROLES:
        raise TokenRejected("claim 'roles' holds a role an agency may not grant")
    return subject, jti, role_set


def _segment(text: str, name: str) -> dict[str, Any]:
    try:
        value = canonical.strict_json_loads(canonical.b64url_decode(text))
    except canonical.EncodingError as exc:
        raise TokenRejected(f"{name}: {exc}") from None
    if not isinstance(value, dict):
        raise TokenRejected(f"{name} is not a JSON object")
    return value
