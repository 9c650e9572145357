"""Sign-in by authorization code with PKCE (RFC 7636), using Authlib's OAuth 2.0 client
for the protocol and `sso.id_token` for the ID token.

A sign-in in progress (`PendingSignIn`: state, nonce, PKCE verifier, the page to return
to) travels in a short-lived cookie MACed with the service's own key, so nothing is kept
on the server between the redirect and the callback, and a callback whose state does not
match the cookie is refused.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2 import OAuth2Error
from httpx import HTTPError

from sso.errors import ProviderUnreachable, SignInRejected
from sso.id_token import verify_id_token
from sso.provider import OpenIdProvider
from sso.signed_values import sign, unsign

PENDING_SECONDS = 600  # how long the provider's login form may take


def safe_next(path: str | None, default: str) -> str:
    """A page of this service to return to: a local path only (never `//host` or a
    backslash trick), so the sign-in cannot be used to send someone elsewhere."""
    if (
        not path
        or not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or any(c in path for c in "\r\n\t")
        or len(path) > 500
    ):
        return default
    return path


@dataclass(frozen=True)
class PendingSignIn:
    state: str
    nonce: str
    verifier: str
    next_path: str
    started: int

    def pack(self, key: bytes) -> str:
        fields = [self.state, self.nonce, self.verifier, self.next_path, self.started]
        return sign(key, "sso-pending", fields)

    @classmethod
    def unpack(cls, key: bytes, value: str | None) -> PendingSignIn | None:
        try:
            state, nonce, verifier, next_path, started = unsign(key, "sso-pending", value)
            pending = cls(str(state), str(nonce), str(verifier), str(next_path), int(started))
        except (ValueError, TypeError):  # None, or not the five fields
            return None
        return pending if time.time() - pending.started < PENDING_SECONDS else None


@dataclass(frozen=True)
class SignedIn:
    """What the provider vouched for: the ID token's claims, and the token itself (kept
    only as the `id_token_hint` of a later sign-out)."""

    claims: dict[str, Any]
    id_token: str


class RelyingParty:
    """One application (client) registered at the provider."""

    def __init__(
        self,
        provider: OpenIdProvider,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scope: str = "openid profile",
    ) -> None:
        self.provider = provider
        self.client_id = client_id
        self._secret = client_secret
        self.redirect_uri = redirect_uri
        self.scope = scope

    def _client(self) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.client_id,
            client_secret=self._secret,
            scope=self.scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106
            timeout=10,
        )

    def begin(self, next_path: str) -> tuple[str, PendingSignIn]:
        """The provider's URL to send the browser to, and what to keep until it returns."""
        pending = PendingSignIn(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next_path=next_path,
            started=int(time.time()),
        )
        with self._client() as client:
            url, _ = client.create_authorization_url(
                self.provider.metadata()["authorization_endpoint"],
                state=pending.state,
                nonce=pending.nonce,
                code_verifier=pending.verifier,
            )
        return url, pending

    def complete(self, pending: PendingSignIn | None, params: dict[str, str]) -> SignedIn:
        """Check the callback against the pending sign-in, exchange the code (with the
        PKCE verifier) and check the ID token."""
        if pending is None:
            raise SignInRejected(
                "this sign-in started too long ago or in another browser",
                "Start signing in again from the sign-in page.",
            )
        if not hmac.compare_digest(params.get("state", ""), pending.state):
            raise SignInRejected(
                "the answer does not belong to this sign-in", "Start signing in again."
            )
        if "error" in params:
            raise SignInRejected(
                "the sign-in provider did not sign you in",
                "Start signing in again; if it keeps happening, tell the hub operators.",
            )
        code = params.get("code", "")
        if not code:
            raise SignInRejected("the sign-in provider sent no code", "Start signing in again.")
        try:
            with self._client() as client:
                token = client.fetch_token(
                    self.provider.metadata()["token_endpoint"],
                    code=code,
                    code_verifier=pending.verifier,
                )
        except (OAuth2Error, OAuthError, HTTPError, ValueError) as exc:
            raise ProviderUnreachable(
                f"the sign-in provider did not exchange the code ({type(exc).__name__})",
                "Start signing in again; the code may have been used already.",
            ) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRejected("the sign-in provider sent no ID token", "Tell the operators.")
        claims = verify_id_token(
            self.provider, id_token, client_id=self.client_id, nonce=pending.nonce
        )
        return SignedIn(claims, id_token)

    def sign_out_url(self, id_token: str | None, after: str) -> str | None:
        """The provider's end-session URL (RP-initiated logout), if it publishes one."""
        endpoint = self.provider.endpoint("end_session_endpoint")
        if endpoint is None:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": after}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}?{urlencode(query)}"
