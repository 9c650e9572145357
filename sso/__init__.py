"""Single sign-on with the state's OpenID provider, for the node's and the hub's pages
and for operators' command-line tokens.

Public API: `OpenIdProvider` (discovery and keys), `RelyingParty` (authorization code
with PKCE), `RoleMap` (which claims give which role), `ClientCredentials` and
`DeviceSignIn` (renewing tokens for commands), and `SsoError` with its advice.
"""

from sso.errors import BadIssuer, NoRoleHere, ProviderUnreachable, SignInRejected, SsoError
from sso.machine_tokens import ClientCredentials, DeviceSignIn, StoredTokens
from sso.provider import OpenIdProvider, key_id
from sso.relying_party import PendingSignIn, RelyingParty, SignedIn, safe_next
from sso.roles import RoleMap

__all__ = [
    "BadIssuer",
    "ClientCredentials",
    "DeviceSignIn",
    "NoRoleHere",
    "OpenIdProvider",
    "PendingSignIn",
    "ProviderUnreachable",
    "RelyingParty",
    "RoleMap",
    "SignInRejected",
    "SignedIn",
    "SsoError",
    "StoredTokens",
    "key_id",
    "safe_next",
]
