"""Scoring an update's new rows: every pair at or above the threshold that involves a
new row, each once, against the old rows of every agency and against each other."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from hub.linkage.executors import Executor
from hub.linkage.kernel import Kernel, Matrix
from hub.linkage.records import ROW_BITS, ROW_MASK, AgencyRecords
from hub.linkage.results import LinkConfig, UpdateReport
from hub.linkage.scoring import score_between

Progress = Callable[[str, float], None]


def score_new_rows(
    agencies: list[AgencyRecords],
    config: LinkConfig,
    old_size: dict[int, int],
    *,
    kernel: Kernel,
    executor: Executor,
    report: UpdateReport,
    progress: Progress | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Pairs at or above the threshold that involve a new row, each once: the new rows
    of every other agency against each agency's old rows in one pass (so each
    agency's encodings are read once, however many agencies sent changes), then the
    new rows against each other."""
    new = {
        x: (x << ROW_BITS) | np.arange(first, agencies[x].size, dtype=np.int64)
        for x, first in sorted(old_size.items())
        if agencies[x].size > first
    }
    jobs: list[tuple[npt.NDArray[np.int64], Matrix, int, int, bool]] = []
    for y, rec in enumerate(agencies):
        old = old_size.get(y, rec.size)
        sources = [x for x in new if x != y or config.dedupe_within]
        if old and sources:
            nodes = np.concatenate([new[x] for x in sources])
            clks = np.concatenate([_rows(agencies, x, new[x]) for x in sources])
            jobs.append((nodes, clks, y, old, False))
    for x, nodes_x in new.items():
        for y in new:
            if x < y or (x == y and config.dedupe_within):
                jobs.append((nodes_x, _rows(agencies, x, nodes_x), y, -1, x == y))
    lefts: list[npt.NDArray[np.int64]] = []
    rights: list[npt.NDArray[np.int64]] = []
    scores: list[npt.NDArray[np.float64]] = []
    for done, (nodes, a, y, old, same) in enumerate(jobs):
        rec_y = agencies[y]
        if progress:
            progress(f"scoring changes against {rec_y.name}", 0.9 * done / len(jobs))
        right_nodes = new[y] if old < 0 else (y << ROW_BITS) | np.arange(old, dtype=np.int64)
        b = a if same else (_rows(agencies, y, new[y]) if old < 0 else rec_y.clks[:old])
        found, blocking = score_between(
            a,
            b,
            config.threshold,
            candidates=config.candidates,
            same=same,
            kernel=kernel,
            executor=executor,
        )
        report.comparisons += blocking.comparisons
        report.candidates_scored += blocking.candidates_scored
        left, right = nodes[found.left], right_nodes[found.right]
        live = rec_y.alive[right & ROW_MASK]
        if not config.dedupe_within:
            live &= (left >> ROW_BITS) != (right >> ROW_BITS)
        lefts.append(left[live])
        rights.append(right[live])
        scores.append(found.scores[live])
    if not lefts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    return (
        np.concatenate(lefts).astype(np.int64),
        np.concatenate(rights).astype(np.int64),
        np.concatenate(scores).astype(np.float64),
    )


def _rows(agencies: list[AgencyRecords], index: int, nodes: npt.NDArray[np.int64]) -> Matrix:
    """The CLKs of consecutive new rows of one agency (a view, not a copy)."""
    rec = agencies[index]
    rows = nodes & ROW_MASK
    clks: Matrix = rec.clks[int(rows[0]) : int(rows[-1]) + 1] if len(rows) else rec.clks[:0]
    return clks
