"""Progress of the node's long steps (reading, validating, encoding, saving the state).

On a terminal: rich's bars with counts, rate and time left. Without one (cron, a CI
log, `2> job.log`): a plain line per step every 10% or 15 seconds, whichever comes
first, and one when it ends, never wrapped, never a blank line, so a log reads as what
happened:

    validating: 100,000 of 200,000 (50%), 41,000 rows/s, about 2 s left
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Report = Callable[[str, int, int], None]

_UNITS = {"encoding": "records", "saving state": "steps", "writing encodings": "records"}


@contextmanager
def progress_reporter(console: Console) -> Iterator[Report]:
    """A `report(step, done, total)` for the job, drawn as bars or plain lines."""
    if console.is_terminal:
        with _bars(console) as report:
            yield report
    else:
        lines = _Lines(console.file)
        try:
            yield lines.report
        finally:
            lines.finish()


@contextmanager
def _bars(console: Console) -> Iterator[Report]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}
    started: dict[str, float] = {}

    def report(step: str, done: int, total: int) -> None:
        if step not in tasks:
            for other in tasks.values():
                progress.update(other, visible=False)
            tasks[step] = progress.add_task(step, total=total or None, rate="")
            started[step] = time.monotonic()
        elapsed = time.monotonic() - started[step]
        rate = f"{done / elapsed:,.0f} {_UNITS.get(step, 'rows')}/s" if elapsed > 0.5 else ""
        progress.update(tasks[step], completed=done, total=total or None, rate=rate)

    with progress:
        yield report


class _Lines:
    """Plain progress lines for logs."""

    def __init__(self, out: IO[str] | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._out = out or sys.stderr
        self._clock = clock
        self._step: str | None = None
        self._started = 0.0
        self._last_time = 0.0
        self._last_share = 0.0
        self._done = 0
        self._total = 0

    def report(self, step: str, done: int, total: int) -> None:
        now = self._clock()
        if step != self._step:
            self.finish()
            self._step, self._started, self._last_time, self._last_share = step, now, now, 0.0
        self._done, self._total = done, total
        share = done / total if total else 0.0
        if share - self._last_share >= 0.1 or now - self._last_time >= 15:
            self._write(now)
            self._last_time, self._last_share = now, share

    def finish(self) -> None:
        """The last line of the step under way."""
        if self._step is not None:
            self._write(self._clock(), final=True)
            self._step = None

    def _write(self, now: float, *, final: bool = False) -> None:
        elapsed = max(now - self._started, 1e-9)
        unit = _UNITS.get(self._step or "", "rows")
        parts = [f"{self._done:,}" + (f" of {self._total:,}" if self._total else "")]
        if self._total:
            parts[0] += f" ({self._done / self._total:.0%})"
        if elapsed >= 0.5:
            parts.append(f"{self._done / elapsed:,.0f} {unit}/s")
        if final:
            parts.append(f"done in {elapsed:.1f} s")
        elif self._total and self._done and elapsed >= 0.5:
            left = (self._total - self._done) / (self._done / elapsed)
            parts.append(f"about {left:.0f} s left")
        self._out.write(f"{self._step}: {', '.join(parts)}\n")
        self._out.flush()
