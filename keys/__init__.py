"""Key material for pprl-hub: agency identities, the key registry, linkage secrets and
bearer tokens. A plain library: no web framework, no database."""

from keys._internal.fingerprint import key_id as public_key_id
from keys._internal.names import IDENTIFIER_PATTERN, STAFF_ID_PATTERN, is_identifier, is_staff_id
from keys.errors import (
    KeyFileError,
    KeysError,
    MalformedDocument,
    RegistryError,
    SignatureInvalid,
    TokenRejected,
    UnsealFailed,
    WeakSecret,
)
from keys.identity import AgencyIdentity, AgencyPublicKeys
from keys.issuer import LocalIssuer
from keys.jwks import JwksTokenVerifier
from keys.linkage_secret import (
    MIN_SECRET_BITS,
    LinkageSecret,
    check_secret_strength,
    new_linkage_secret,
    seal_linkage_secret,
    unseal_linkage_secret,
)
from keys.registry import AgencyRecord, KeyRegistry, RegisteredKey, SigningKeyLookup
from keys.tokens import (
    AGENCY_ROLES,
    HUB_ROLES,
    Role,
    TokenVerifier,
    VerifiedToken,
    issue_token,
)

__all__ = [
    "AGENCY_ROLES",
    "HUB_ROLES",
    "IDENTIFIER_PATTERN",
    "MIN_SECRET_BITS",
    "STAFF_ID_PATTERN",
    "AgencyIdentity",
    "AgencyPublicKeys",
    "AgencyRecord",
    "JwksTokenVerifier",
    "KeyFileError",
    "KeyRegistry",
    "KeysError",
    "LinkageSecret",
    "LocalIssuer",
    "MalformedDocument",
    "RegisteredKey",
    "RegistryError",
    "Role",
    "SignatureInvalid",
    "SigningKeyLookup",
    "TokenRejected",
    "TokenVerifier",
    "UnsealFailed",
    "VerifiedToken",
    "WeakSecret",
    "check_secret_strength",
    "is_identifier",
    "is_staff_id",
    "issue_token",
    "new_linkage_secret",
    "public_key_id",
    "seal_linkage_secret",
    "unseal_linkage_secret",
]
