"""The overlap report for executives: clients shared between programs, with small cells
suppressed so that no suppressed count can be worked out from what is published.

Published cells are each program's caseload, how many of its clients any other program
also serves, the clients shared by each pair of programs (whatever else serves them),
and the clients served by exactly each combination of two up to `max_programs` programs
(three by default: with N programs there are 2^N combinations, and the ones of four or
more are rarely big enough to publish). They are tied by sums: a pair's count is the sum
of the combinations that hold both programs, and a program's "shared with any" the sum of
those that hold it. Combinations larger than `max_programs` are never published: in the
sums they are unknowns, one per combination that occurs (as if an attacker knew which
occur, the cautious assumption).

Cells below the limit are suppressed (primary). Then, while a suppressed cell is still
determined by the published ones (every solution of the sums, with the published cells
fixed, gives it the same value: the null space of the sums restricted to the unknown
cells has no component on it), the smallest published cell of a sum that pins it is
suppressed too (complementary suppression). One singular value decomposition per round
finds every determined cell at once, so 20 programs take well under a second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

Key = tuple[str, tuple[str, ...]]
# The smallest count any published report may show (configurable upward only).
MIN_LIMIT = 11


@dataclass(frozen=True)
class Cell:
    """One published number: its kind, the programs it is about, and its count (None
    when suppressed)."""

    kind: str  # "caseload", "shared_any", "pair", "exactly"
    programs: tuple[str, ...]
    count: int | None
    percent_of: dict[str, float | None]


@dataclass(frozen=True)
class OverlapReport:
    """Cells in publication order, the suppression limit they were checked against, and
    the largest combination published."""

    limit: int
    cells: list[Cell]
    suppressed_primary: int
    suppressed_complementary: int
    max_programs: int = 3


def overlap_counts(
    caseloads: Mapping[str, int], clusters: Iterable[frozenset[str]], *, max_programs: int = 3
) -> dict[Key, int]:
    """The true counts of every published cell, from each cluster's set of programs."""
    counts, _ = _count(caseloads, Counter(tuple(sorted(c)) for c in clusters), max_programs)
    return counts


def _count(
    caseloads: Mapping[str, int], exact: Counter[tuple[str, ...]], max_programs: int
) -> tuple[dict[Key, int], dict[tuple[str, ...], int]]:
    programs = sorted(caseloads)
    counts: dict[Key, int] = {("caseload", (p,)): caseloads[p] for p in programs}
    counts |= {("shared_any", (p,)): 0 for p in programs}
    counts |= {("pair", pair): 0 for pair in combinations(programs, 2)}
    for size in range(2, min(max_programs, len(programs)) + 1):
        counts |= {("exactly", combo): 0 for combo in combinations(programs, size)}
    beyond: dict[tuple[str, ...], int] = {}
    for combo, n in exact.items():
        if len(combo) < 2:
            continue
        for p in combo:
            counts[("shared_any", (p,))] += n
        for pair in combinations(combo, 2):
            counts[("pair", pair)] += n
        if len(combo) <= max_programs:
            counts[("exactly", combo)] += n
        else:
            beyond[combo] = n
    return counts, beyond


def constraints(keys: list[Key], unknown: list[tuple[str, ...]]) -> npt.NDArray[np.float64]:
    """The sums tying the cells, one row each (cell - sum(parts) = 0), over the columns
    `keys` followed by one per unpublished combination in `unknown`."""
    index = {key: i for i, key in enumerate(keys)}
    rows = {key: r for r, key in enumerate(k for k in keys if k[0] in ("pair", "shared_any"))}
    matrix = np.zeros((len(rows), len(keys) + len(unknown)))
    for key, r in rows.items():
        matrix[r, index[key]] = 1.0
    parts = [(index[k], k[1]) for k in keys if k[0] == "exactly"]
    parts += [(len(keys) + j, combo) for j, combo in enumerate(unknown)]
    for column, combo in parts:
        for p in combo:
            matrix[rows[("shared_any", (p,))], column] -= 1.0
        for pair in combinations(combo, 2):
            matrix[rows[("pair", pair)], column] -= 1.0
    return matrix


def determined_cells(matrix: npt.NDArray[np.float64], hidden: list[int]) -> set[int]:
    """The columns among `hidden` whose value every solution of the sums shares, once the
    other columns are fixed: those whose unit vector lies in the row space of the sums
    restricted to the hidden columns (its projection on an orthonormal basis of that
    space, from one SVD, has length 1)."""
    if not hidden or not len(matrix):
        return set()
    sub = matrix[:, hidden]
    _, s, vt = np.linalg.svd(sub, full_matrices=False)
    tolerance = max(sub.shape) * np.finfo(float).eps * (s[0] if len(s) else 0.0)
    basis = vt[: int((s > tolerance).sum())]
    reach = (basis**2).sum(axis=0)
    return {column for column, r in zip(hidden, reach, strict=True) if r > 1 - 1e-9}


def overlap_report(
    caseloads: Mapping[str, int],
    clusters: Iterable[frozenset[str]],
    *,
    limit: int = MIN_LIMIT,
    max_programs: int = 3,
) -> OverlapReport:
    """Count, suppress and protect."""
    counts, beyond = _count(
        caseloads, Counter(tuple(sorted(c)) for c in clusters), max(2, max_programs)
    )
    keys = list(counts)
    unknown = sorted(beyond)
    matrix = constraints(keys, unknown)
    extra = list(range(len(keys), len(keys) + len(unknown)))  # never published
    hidden = {i for i, k in enumerate(keys) if counts[k] < limit and k[0] != "caseload"}
    primary = len(hidden)
    structural: set[int] = set()  # pinned by the table's shape alone (e.g. one program)
    while True:
        exposed = sorted(determined_cells(matrix, sorted(hidden) + extra) & hidden - structural)
        if not exposed:
            break
        touched: set[int] = set()  # sums that got a newly hidden cell this round
        for cell in exposed:
            rows = set(np.flatnonzero(matrix[:, cell]).tolist())
            if rows & touched:
                continue  # already changed this round: check it again first
            # Hide the smallest published cell of a sum that involves the exposed cell.
            candidates = [
                j
                for r in sorted(rows)
                for j in np.flatnonzero(matrix[r, : len(keys)]).tolist()
                if j not in hidden and keys[j][0] != "caseload"
            ]
            if not candidates:
                structural.add(cell)  # nothing left to hide: it says nothing about anyone
                continue
            chosen = min(candidates, key=lambda j: (counts[keys[j]], j))
            hidden.add(chosen)
            touched |= set(np.flatnonzero(matrix[:, chosen]).tolist())
    cells = []
    for i, (kind, programs) in enumerate(keys):
        count = None if i in hidden else counts[(kind, programs)]
        percent: dict[str, float | None] = {}
        if kind != "caseload":
            for p in programs:
                load = caseloads[p]
                percent[p] = None if count is None or not load else round(100 * count / load, 1)
        cells.append(Cell(kind, programs, count, percent))
    return OverlapReport(limit, cells, primary, len(hidden) - primary, max(2, max_programs))
