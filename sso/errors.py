"""One error base for single sign-on, carrying what to do about it."""

from __future__ import annotations


class SsoError(Exception):
    """Sign-in with the state's provider failed; `advice` says what to do."""

    def __init__(self, message: str, advice: str) -> None:
        super().__init__(message)
        self.message = message
        self.advice = advice

    def __str__(self) -> str:
        return f"{self.message}. {self.advice}"


class ProviderUnreachable(SsoError):
    """The provider's discovery document, keys or token endpoint could not be read."""


class SignInRejected(SsoError):
    """The provider's answer did not pass a check (state, nonce, signature, claims)."""


class NoRoleHere(SsoError):
    """The person signed in at the provider, but this service has no role for them."""
