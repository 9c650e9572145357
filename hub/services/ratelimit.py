"""Questions per staff member per minute: a case manager's tool answers a person's pace,
not a script's. Enumerating records (probing who is served where) or flooding the
ledger with disclosures is slowed to that pace. The count is per hub process, in memory
(several processes each allow the rate; the ledger's deduplication bounds what they can
write)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from hub.errors import TooManyRequests

WINDOW = 60.0


class QuestionLimiter:
    """At most `per_minute` questions by one (agency, staff member) in any 60 seconds."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._clock = clock
        self._asked: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, agency: str, staff: str) -> None:
        """Count one question, or raise TooManyRequests saying when to ask again."""
        now = self._clock()
        with self._lock:
            asked = self._asked.setdefault((agency, staff), deque())
            while asked and now - asked[0] >= WINDOW:
                asked.popleft()
            if len(asked) >= self._limit:
                raise TooManyRequests(
                    f"more than {self._limit} questions a minute from {staff}; ask again shortly",
                    retry_after=max(1, round(WINDOW - (now - asked[0]))),
                )
            asked.append(now)
            if len(self._asked) > 100_000:  # forget people who stopped asking
                for key in [k for k, q in self._asked.items() if not q or now - q[-1] >= WINDOW]:
                    del self._asked[key]
