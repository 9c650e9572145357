"""One error base for single sign-on, carrying what to do about it."""

from __future__ import annotations


class SsoError(Exception):
    """Sign-in with the state's provider failed; `hint` says what to do."""

    exit_code = 1

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def advice(self) -> str:
        """What happened and what to do, in one line (what `pprl` prints)."""
        return f"{self.message}. {self.hint}"

    def __str__(self) -> str:
        return self.advice()


class ProviderUnreachable(SsoError):
    """The provider's discovery document, keys or token endpoint could not be read."""


class SignInRejected(SsoError):
    """The provider's answer did not pass a check (state, nonce, signature, claims)."""


class NoRoleHere(SsoError):
    """The person signed in at the provider, but this service has no role for them."""


class BadIssuer(SsoError, ValueError):
    """The configured issuer is not a URL a relying party may trust (a setting to fix)."""

    exit_code = 2
