"""Bearer tokens: agency-issued ones for case managers, stewards and nodes, and ones from
an operator identity provider (OIDC, keys from a JWKS file) for hub operators and
auditors.

Tokens are JWTs (RFC 7519) in the access-token profile of RFC 9068: `typ` `at+jwt`,
claims `iss`, `sub`, `aud`, `exp`, `iat`, `jti` and `roles`.

Both verifiers follow RFC 8725 (JWT best current practices): the algorithm list is fixed
by configuration, never read from the token; the key comes only from the registry entry
of the issuing agency or from the configured JWKS of the configured issuer (so a key of
another agency, or one named by a `jku`/`x5u`/`jwk`/`x5c` header, can never verify); every
claim is required and typed; the lifetime is capped; the roles an issuer may grant are
fixed; and header and payload are parsed with a strict JSON parser before the signature
is checked, so a token with duplicate keys cannot mean one thing to us and another to a
library.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

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
# choose the key that verifies it; keys come only from the registry or configured JWKS.
_KEY_LOCATION_HEADERS = ("jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256")


class Role(StrEnum):
    """What a token's bearer may do at the hub."""

    AGENCY_NODE = "agency_node"
    CASE_MANAGER = "case_manager"
    SUPERVISOR = "supervisor"
    INTAKE = "intake"  # asks "who is this?" with typed identifiers, before any roster
    EXECUTIVE = "executive"  # an agency's executive: de-identified reports only
    HUB_OPERATOR = "hub_operator"
    AUDITOR = "auditor"


# An agency speaks for its own node and staff; operator and auditor roles come only from
# the operators' identity provider, never from an agency.
AGENCY_ROLES = frozenset(
    {Role.AGENCY_NODE, Role.CASE_MANAGER, Role.SUPERVISOR, Role.INTAKE, Role.EXECUTIVE}
)
HUB_ROLES = frozenset({Role.HUB_OPERATOR, Role.AUDITOR})


def utc_now() -> datetime:
    return datetime.now(UTC)


def _encode(
    key: Ed25519PrivateKey,
    key_id: str,
    *,
    issuer: str,
    subject: str,
    audience: str,
    roles: Iterable[Role],
    lifetime: timedelta,
    now: datetime | None,
    grantable: frozenset[Role],
) -> str:
    role_list = sorted({Role(r) for r in roles})
    if not role_list:
        raise MalformedDocument("at least one role is required", "token")
    if not set(role_list) <= grantable:
        raise MalformedDocument(
            f"this issuer may grant only {', '.join(sorted(grantable))}", "token"
        )
    if not timedelta(seconds=1) <= lifetime <= MAX_LIFETIME:
        raise MalformedDocument(
            f"lifetime must be between 1 s and {int(MAX_LIFETIME.total_seconds())} s", "token"
        )
    issued = int((now or utc_now()).timestamp())
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": issued,
        "exp": issued + int(lifetime.total_seconds()),
        "jti": secrets.token_urlsafe(16),
        "roles": [str(r) for r in role_list],
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE, "kid": key_id})


def issue_token(
    identity: AgencyIdentity,
    *,
    subject: str,
    audience: str,
    roles: Iterable[Role],
    lifetime: timedelta = DEFAULT_LIFETIME,
    now: datetime | None = None,
) -> str:
    """Sign an access token for `subject` (a staff id, never a name) of this agency."""
    if not is_staff_id(subject):
        raise MalformedDocument(
            "subject must be a staff id such as cm-0042 (letters, then digits), never a name",
            "token",
        )
    return _encode(
        identity.signing_key,
        identity.signing_key_id,
        issuer=identity.agency_id,
        subject=subject,
        audience=audience,
        roles=roles,
        lifetime=lifetime,
        now=now,
        grantable=AGENCY_ROLES,
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


class VerificationRules:
    """The checks both verifiers share."""

    def __init__(
        self,
        *,
        audience: str,
        algorithms: tuple[str, ...],
        token_types: tuple[str, ...],
        allowed_roles: frozenset[Role],
        max_lifetime: timedelta,
        leeway: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.audience = audience
        self.algorithms = algorithms
        self.token_types = tuple(t.lower() for t in token_types)
        self.allowed_roles = allowed_roles
        self.max_lifetime = max_lifetime
        self.leeway = leeway
        self.clock = clock

    def split(self, token: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """Header (checked), key id and payload of a compact JWS, parsed strictly."""
        if not isinstance(token, str) or not token:
            raise TokenRejected("no token")
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenRejected(f"token longer than {MAX_TOKEN_BYTES} bytes")
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenRejected("not a compact JWS (expected three dot-separated parts)")
        header = _segment(parts[0], "header")
        # The header is judged first, so an `alg: none` token is refused as such.
        kid = self.check_header(header)
        payload = _segment(parts[1], "payload")
        if not parts[2]:
            raise TokenRejected("signature missing")
        return header, kid, payload

    def check_header(self, header: dict[str, Any]) -> str:
        alg = header.get("alg")
        if alg is None:
            raise TokenRejected("header 'alg' missing")
        if alg not in self.algorithms:
            raise TokenRejected(f"alg {alg!r} is not accepted (only {', '.join(self.algorithms)})")
        if "crit" in header:
            raise TokenRejected("header 'crit' is present; no extensions are understood")
        for name in _KEY_LOCATION_HEADERS:
            if name in header:
                raise TokenRejected(
                    f"header {name!r} is not accepted: keys come only from the agency registry"
                    " or the configured key set"
                )
        extra = set(header) - _ALLOWED_HEADER
        if extra:
            raise TokenRejected(f"unexpected header parameter {sorted(extra)[0]!r}")
        typ = header.get("typ")
        accepted = {*self.token_types, *(f"application/{t}" for t in self.token_types)}
        if not isinstance(typ, str) or typ.lower() not in accepted:
            raise TokenRejected(f"typ must be {self.token_types[0]!r}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("header 'kid' missing")
        return kid

    def decode(self, token: str, key: Any, issuer: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=issuer,
                options={
                    "require": list(_REQUIRED_CLAIMS),
                    "strict_aud": True,
                    # Times are checked by check_times against the injected clock.
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

    def check_times(self, claims: dict[str, Any]) -> tuple[datetime, datetime]:
        now = self.clock()
        for name in ("exp", "iat", "nbf"):
            if name in claims and type(claims[name]) is not int:
                raise TokenRejected(f"claim {name!r} must be an integer NumericDate")
        issued = datetime.fromtimestamp(claims["iat"], UTC)
        try:
            expires = datetime.fromtimestamp(claims["exp"], UTC)
        except (OverflowError, OSError, ValueError):
            raise TokenRejected("claim 'exp' is out of range") from None
        if issued > now + self.leeway:
            raise TokenRejected("issued in the future (check the issuer's clock)")
        if expires <= now - self.leeway:
            raise TokenRejected("expired")
        if expires <= issued:
            raise TokenRejected("expires before it was issued")
        if expires - issued > self.max_lifetime:
            raise TokenRejected(
                f"lifetime over the cap of {int(self.max_lifetime.total_seconds())} s"
            )
        if "nbf" in claims and claims["nbf"] > (now + self.leeway).timestamp():
            raise TokenRejected("not valid yet (nbf)")
        return issued, expires

    def check_identity(
        self, claims: dict[str, Any], subject_ok: Callable[[str], bool]
    ) -> tuple[str, str, frozenset[Role]]:
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject_ok(subject):
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
        if not role_set <= self.allowed_roles:
            raise TokenRejected("claim 'roles' holds a role this issuer may not grant")
        return subject, jti, role_set


class TokenVerifier:
    """Verifies agency-issued tokens for one audience against a key registry."""

    def __init__(
        self,
        keys: SigningKeyLookup,
        *,
        audience: str,
        max_lifetime: timedelta = MAX_LIFETIME,
        leeway: timedelta = DEFAULT_LEEWAY,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._keys = keys
        self._rules = VerificationRules(
            audience=audience,
            algorithms=(ALGORITHM,),
            token_types=(TOKEN_TYPE,),
            allowed_roles=AGENCY_ROLES,
            max_lifetime=max_lifetime,
            leeway=leeway,
            clock=clock,
        )

    def verify(self, token: str) -> VerifiedToken:
        """Return the verified claims, or raise `TokenRejected` naming the broken rule."""
        rules = self._rules
        _, kid, payload = rules.split(token)
        issuer = payload.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise TokenRejected("claim 'iss' missing or not a string")
        key = self._key(issuer, kid, payload)
        claims = rules.decode(token, key, issuer, payload)
        issued, expires = rules.check_times(claims)
        subject, jti, roles = rules.check_identity(claims, is_staff_id)
        return VerifiedToken(issuer, subject, roles, issued, expires, jti, kid)

    def _key(self, issuer: str, kid: str, payload: dict[str, Any]) -> Ed25519PublicKey:
        """The issuer's registered key `kid`, valid both now and when the token was issued."""
        iat = payload.get("iat")
        if type(iat) is not int:
            raise TokenRejected("claim 'iat' missing or not an integer")
        try:
            issued = datetime.fromtimestamp(iat, UTC)
        except (OverflowError, OSError, ValueError):
            raise TokenRejected("claim 'iat' is out of range") from None
        try:
            key = self._keys.signing_key_at(issuer, kid, self._rules.clock())
            self._keys.signing_key_at(issuer, kid, issued)
        except KeysError as exc:
            raise TokenRejected(f"signing key: {exc}") from None
        return key


def _segment(text: str, name: str) -> dict[str, Any]:
    try:
        value = canonical.strict_json_loads(canonical.b64url_decode(text))
    except canonical.EncodingError as exc:
        raise TokenRejected(f"{name}: {exc}") from None
    if not isinstance(value, dict):
        raise TokenRejected(f"{name} is not a JSON object")
    return value
