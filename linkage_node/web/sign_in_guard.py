"""What stands between the sign-in form and the password hashes.

- Throttling: after 5 failures for one username (20 for one address, since an office
  shares one), each further attempt waits twice as long as the last (1 s, 2 s, 4 s, ...
  up to 15 minutes); a success clears the username's count. A throttled attempt is
  answered at once, without hashing anything.
- Bounded hashing: argon2id takes 64 MiB per check, so at most two checks run at once;
  the rest wait briefly, then get "busy" rather than exhausting memory.
- A log line for every attempt (success, failure, throttled, busy), in JSON, naming the
  staff id on success and never the password; a failed username is logged as a keyed
  hash, since people type passwords into the username field.

Counts live in the process (one `pprl node serve` per node); a restart forgets them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("pprl.node.sign_in")

FREE_PER_USER = 5
FREE_PER_ADDRESS = 20
FIRST_WAIT = 1.0
MAX_WAIT = 15 * 60.0
_MAX_TRACKED = 10_000  # keys remembered at most (oldest forgotten first)


@dataclass
class _Failures:
    count: int
    last: float


class SignInThrottle:
    """Growing waits after repeated failures, per username and per address."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, _Failures] = OrderedDict()

    def wait(self, username: str, address: str) -> float:
        """Seconds before this username may try again from this address (0: now)."""
        now = self._clock()
        with self._lock:
            return max(
                self._wait(f"u:{username.casefold()}", FREE_PER_USER, now),
                self._wait(f"a:{address}", FREE_PER_ADDRESS, now),
            )

    def failed(self, username: str, address: str) -> None:
        """Count a failed attempt."""
        now = self._clock()
        with self._lock:
            for key in (f"u:{username.casefold()}", f"a:{address}"):
                seen = self._seen.pop(key, None) or _Failures(0, now)
                self._seen[key] = _Failures(seen.count + 1, now)
            while len(self._seen) > _MAX_TRACKED:
                self._seen.popitem(last=False)

    def succeeded(self, username: str) -> None:
        """The right password: the username starts afresh (the address keeps its count)."""
        with self._lock:
            self._seen.pop(f"u:{username.casefold()}", None)

    def _wait(self, key: str, free: int, now: float) -> float:
        seen = self._seen.get(key)
        if seen is None or seen.count < free:
            return 0.0
        wait = min(FIRST_WAIT * 2.0 ** (seen.count - free), MAX_WAIT)
        return max(0.0, seen.last + wait - now)


class BoundedHashing:
    """At most `limit` password checks at once; `run` returns None when busy too long."""

    def __init__(self, limit: int = 2, patience: float = 10.0) -> None:
        self._slots = threading.BoundedSemaphore(limit)
        self._patience = patience

    def run(self, check: Callable[[], bool]) -> bool | None:
        """The check's result, or None if no slot came free in time."""
        if not self._slots.acquire(timeout=self._patience):
            return None
        try:
            return check()
        finally:
            self._slots.release()


def log_attempt(
    outcome: str, username: str, address: str, key: bytes, staff_id: str | None = None
) -> None:
    """One JSON log line per sign-in attempt; no password, no plain failed username."""
    tag = hmac.new(key, username.casefold().encode(), hashlib.sha256).hexdigest()[:16]
    level = logging.INFO if outcome == "success" else logging.WARNING
    log.log(
        level,
        f"sign-in {outcome}",
        extra={
            "event": f"sign_in.{outcome}",
            "staff_id": staff_id,
            "username_tag": tag,
            "client": address,
        },
    )
