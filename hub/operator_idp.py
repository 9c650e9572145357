"""The operators' identity provider, as the hub uses it.

- API tokens (operators' commands, the pages' pasted tokens) are JWT access tokens of
  that issuer, checked by `keys.JwksTokenVerifier` (fixed algorithms, audience, expiry,
  roles). Its keys come from a JWKS file, or, without one, from the provider's discovery
  document, fetched again when a token names a key the hub has not seen (a rotation).
- The operators' pages can sign operators in there (authorization code with PKCE), with
  roles from configured claims.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from pathlib import Path

from hub.settings import HubSettings
from keys import JwksTokenVerifier, TokenRejected, VerifiedToken
from keys.files import read_private
from sso import OpenIdProvider, RelyingParty, RoleMap, SsoError, key_id

OPERATOR_ROLES = ("hub_operator", "auditor")  # an operator with both signs in as operator


class OperatorTokens:
    """Access tokens of the operators' issuer, with keys that follow its rotations."""

    def __init__(self, issuer: str, audience: str, source: OpenIdProvider | Path) -> None:
        self.issuer = issuer
        self._audience = audience
        self._provider = source if isinstance(source, OpenIdProvider) else None
        self._kids: set[str] = set()
        # A key file is read at start-up (a broken one stops the hub there); the
        # provider's keys are fetched with the first token.
        self._verifier = (
            self._build(json.loads(source.read_text())) if isinstance(source, Path) else None
        )

    def _build(self, document: dict[str, object]) -> JwksTokenVerifier:
        verifier = JwksTokenVerifier(issuer=self.issuer, audience=self._audience, jwks=document)
        keys = document.get("keys")
        self._kids = (
            {str(k.get("kid")) for k in keys if isinstance(k, dict)}
            if isinstance(keys, list)
            else set()
        )
        return verifier

    def verify(self, token: str) -> VerifiedToken:
        """The verified claims, or `TokenRejected`."""
        verifier = self._verifier
        if self._provider is not None and (verifier is None or key_id(token) not in self._kids):
            try:
                verifier = self._build(self._provider.key_document(key_id(token)))
            except SsoError as exc:
                raise TokenRejected(f"the operators' provider keys: {exc.message}") from None
            self._verifier = verifier
        if verifier is None:
            raise TokenRejected("no keys for the operators' issuer")
        return verifier.verify(token)


def operator_tokens(settings: HubSettings) -> tuple[OperatorTokens | None, OpenIdProvider | None]:
    """The operators' token check, and their provider when it is fetched (not a file)."""
    issuer = settings.operator_issuer
    if issuer is None:
        return None, None
    if settings.operator_jwks_file is not None:
        return OperatorTokens(issuer, settings.audience, settings.operator_jwks_file), None
    provider = OpenIdProvider(issuer)
    return OperatorTokens(issuer, settings.audience, provider), provider


def operator_sign_in(
    settings: HubSettings, provider: OpenIdProvider | None
) -> tuple[RelyingParty | None, RoleMap | None]:
    """The operators' pages' own sign-in at the provider, when configured."""
    issuer, secret_file = settings.operator_issuer, settings.operator_client_secret_file
    if not (settings.operator_client_id and settings.public_url and issuer and secret_file):
        return None, None  # the settings refuse half of it
    secret = read_private(secret_file).decode().strip()
    roles = RoleMap.parse(
        settings.operator_roles,
        role_claim=settings.operator_role_claim,
        staff_id_claim=settings.operator_staff_id_claim,
    )
    relying_party = RelyingParty(
        provider or OpenIdProvider(issuer),
        client_id=settings.operator_client_id,
        client_secret=secret,
        redirect_uri=settings.public_url.rstrip("/") + "/operator/sign-in/callback",
        scope=settings.operator_scope,
    )
    return relying_party, roles


def page_session_key(settings: HubSettings) -> bytes:
    """The key signing operators' page sessions: derived from the data key, so every
    worker and every restart agree; a key per process where there is none (development)."""
    if settings.data_key_file is None:
        return secrets.token_bytes(32)
    return hmac.new(
        settings.data_key_file.read_bytes(), b"pprl operator page sessions", hashlib.sha256
    ).digest()
