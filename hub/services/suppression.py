"""Small-cell suppression for any published table of counts, one rule everywhere.

A table is its cells and the sums that tie them (a program's total is the sum of its
rows; every cluster has one size). Cells under the limit are hidden (primary); then,
while a hidden cell can still be worked out from the published ones and the sums (the
same test as the overlap report's, `hub.services.overlap.determined_cells`), the
smallest published cell of a sum that pins one is hidden too, one at a time
(complementary). What is
left can be published on any page or in any CSV, in any combination, without giving a
hidden count away.

Totals that are published elsewhere (the number of clusters on the run page) are cells
of the table too, so that the sums involving them are checked.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from hub.services.overlap import MIN_LIMIT, determined_cells

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Sum(Generic[K]):
    """`total` equals the sum of `parts`, each times its weight."""

    total: K
    parts: Mapping[K, float]


def suppress(
    counts: Mapping[K, int],
    sums: Sequence[Sum[K]] = (),
    *,
    limit: int = MIN_LIMIT,
    always: frozenset[K] = frozenset(),
) -> dict[K, int | None]:
    """Each cell's count, or None where it must not be published. Cells in `always`
    are published whatever their size (a total everyone knows anyway)."""
    keys = list(counts)
    index = {k: i for i, k in enumerate(keys)}
    matrix = np.zeros((len(sums), len(keys)))
    for r, tie in enumerate(sums):
        matrix[r, index[tie.total]] = 1.0
        for part, weight in tie.parts.items():
            matrix[r, index[part]] -= weight
    hidden = {i for i, k in enumerate(keys) if counts[k] < limit and k not in always}
    pinned: set[int] = set()  # determined by cells always published: nothing to hide
    while True:
        exposed = determined_cells(matrix, sorted(hidden)) & hidden - pinned
        if not exposed:
            break
        # One more cell per round, the smallest published one in any sum that pins an
        # exposed cell: hiding several at once (as the overlap report does for speed)
        # can cascade into hiding a table's large cells; these tables are small.
        # A cell can be pinned by several sums together (row totals against a column
        # total): when its own sums have nothing left to hide, look at every sum that
        # holds a hidden cell.
        candidates = _published_in(matrix, exposed, hidden, keys, always) or _published_in(
            matrix, hidden, hidden, keys, always
        )
        if not candidates:
            pinned |= exposed
            continue
        hidden.add(min(candidates, key=lambda j: (counts[keys[j]], j)))
    return {k: None if i in hidden and k not in always else counts[k] for i, k in enumerate(keys)}


def _published_in(
    matrix: npt.NDArray[np.float64],
    cells: set[int],
    hidden: set[int],
    keys: list[K],
    always: frozenset[K],
) -> set[int]:
    """The cells that may still be hidden in any sum holding one of `cells`."""
    rows = {r for cell in cells for r in np.flatnonzero(matrix[:, cell]).tolist()}
    return {
        j
        for r in rows
        for j in np.flatnonzero(matrix[r]).tolist()
        if j not in hidden and keys[j] not in always
    }


def two_way(
    counts: Mapping[tuple[str, str], int], *, limit: int = MIN_LIMIT
) -> tuple[dict[tuple[str, str], int | None], dict[str, int | None], dict[str, int | None]]:
    """A table of rows x columns published with its row and column totals: the cells,
    the row totals and the column totals, each a count or None."""
    rows = sorted({r for r, _ in counts})
    columns = sorted({c for _, c in counts})
    cells: dict[tuple[str, str, str], int] = {
        ("cell", r, c): counts.get((r, c), 0) for r in rows for c in columns
    }
    cells |= {("row", r, ""): sum(counts.get((r, c), 0) for c in columns) for r in rows}
    cells |= {("column", "", c): sum(counts.get((r, c), 0) for r in rows) for c in columns}
    sums = [Sum(("row", r, ""), {("cell", r, c): 1.0 for c in columns}) for r in rows]
    sums += [Sum(("column", "", c), {("cell", r, c): 1.0 for r in rows}) for c in columns]
    shown = suppress(cells, sums, limit=limit)
    return (
        {(r, c): shown[("cell", r, c)] for r in rows for c in columns},
        {r: shown[("row", r, "")] for r in rows},
        {c: shown[("column", "", c)] for c in columns},
    )
