"""Token sources for `HubClient`: a token minted on demand and reused until near its
expiry, so a long command never sends an expired one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class CachedToken:
    """A token source that mints a token (`mint(now, lifetime)`) and reuses it until a
    fifth of its lifetime is left, so a long command never sends an expired one."""

    def __init__(
        self,
        mint: Callable[[datetime, timedelta], str],
        lifetime: timedelta = timedelta(minutes=10),
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._mint = mint
        self._lifetime = lifetime
        self._now = now
        self._token = ""
        self._renew_at = datetime.min.replace(tzinfo=UTC)

    def __call__(self) -> str:
        now = self._now()
        if now >= self._renew_at:
            self._token = self._mint(now, self._lifetime)
            self._renew_at = now + self._lifetime * 0.8
        return self._token
