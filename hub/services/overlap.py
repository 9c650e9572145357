"""The overlap report for executives: clients shared between programs, with small cells
suppressed so that no suppressed count can be worked out from what is published.

Published cells are each program's caseload, how many of its clients any other program
also serves, the clients shared by each pair of programs (whatever else serves them),
and the clients served by exactly each combination of two or more programs. They are tied
by sums: a pair's count is the sum of the combinations that hold both programs, and a
program's "shared with any" is the sum of the combinations that hold it. Cells below the
limit are suppressed (primary); then, while any suppressed cell is still determined by the
published cells through those sums (it lies in the row space of the sums restricted to the
suppressed cells), the smallest published cell of a sum that pins it is suppressed too
(complementary suppression).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt


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
    """Cells in publication order, and the suppression limit they were checked against."""

    limit: int
    cells: list[Cell]
    suppressed_primary: int
    suppressed_complementary: int


def overlap_counts(
    caseloads: Mapping[str, int], clusters: Iterable[frozenset[str]]
) -> dict[tuple[str, tuple[str, ...]], int]:
    """The true counts of every cell, from each cluster's set of programs."""
    programs = sorted(caseloads)
    exact = Counter(tuple(sorted(c)) for c in clusters if len(c) >= 2)
    cells: dict[tuple[str, tuple[str, ...]], int] = {}
    for p in programs:
        cells[("caseload", (p,))] = caseloads[p]
    for p in programs:
        cells[("shared_any", (p,))] = sum(n for s, n in exact.items() if p in s)
    for a, b in combinations(programs, 2):
        cells[("pair", (a, b))] = sum(n for s, n in exact.items() if a in s and b in s)
    for size in range(2, len(programs) + 1):
        for combo in combinations(programs, size):
            cells[("exactly", combo)] = exact.get(combo, 0)
    return cells


def constraints(
    keys: list[tuple[str, tuple[str, ...]]],
) -> npt.NDArray[np.float64]:
    """The sums tying the cells, one row each: cell - sum(parts) = 0."""
    index = {key: i for i, key in enumerate(keys)}
    combos = [k for k in keys if k[0] == "exactly"]
    rows = []
    for key in keys:
        kind, programs = key
        if kind == "pair":
            parts = [c for c in combos if set(programs) <= set(c[1])]
        elif kind == "shared_any":
            parts = [c for c in combos if programs[0] in c[1]]
        else:
            continue
        row = np.zeros(len(keys))
        row[index[key]] = 1.0
        for part in parts:
            row[index[part]] -= 1.0
        rows.append(row)
    return np.array(rows) if rows else np.zeros((0, len(keys)))


def determined(matrix: npt.NDArray[np.float64], hidden: list[int], cell: int) -> bool:
    """Whether hidden `cell` follows from the published cells through the sums: its unit
    vector lies in the row space of the sums restricted to the hidden cells."""
    if not len(matrix):
        return False
    sub = matrix[:, hidden]
    unit = np.zeros(len(hidden))
    unit[hidden.index(cell)] = 1.0
    return bool(np.linalg.matrix_rank(np.vstack([sub, unit])) == np.linalg.matrix_rank(sub))


def overlap_report(
    caseloads: Mapping[str, int], clusters: Iterable[frozenset[str]], *, limit: int = 11
) -> OverlapReport:
    """Count, suppress and protect."""
    counts = overlap_counts(caseloads, clusters)
    keys = list(counts)
    matrix = constraints(keys)
    hidden = {i for i, k in enumerate(keys) if counts[k] < limit and k[0] != "caseload"}
    primary = len(hidden)
    structural: set[int] = set()  # pinned by the table's shape alone (e.g. one program)
    while True:
        order = sorted(hidden)
        exposed = next(
            (i for i in order if i not in structural and determined(matrix, order, i)), None
        )
        if exposed is None:
            break
        # Hide the smallest published cell of a sum that involves the exposed cell.
        candidates = [
            j
            for row in matrix
            if row[exposed] != 0
            for j in np.flatnonzero(row).tolist()
            if j not in hidden and keys[j][0] != "caseload"
        ]
        if not candidates:
            structural.add(exposed)  # nothing left to hide: it says nothing about anyone
            continue
        hidden.add(min(candidates, key=lambda j: (counts[keys[j]], j)))
    cells = []
    for i, (kind, programs) in enumerate(keys):
        count = None if i in hidden else counts[(kind, programs)]
        percent: dict[str, float | None] = {}
        if kind != "caseload":
            for p in programs:
                load = caseloads[p]
                percent[p] = None if count is None or not load else round(100 * count / load, 1)
        cells.append(Cell(kind, programs, count, percent))
    return OverlapReport(limit, cells, primary, len(hidden) - primary)
