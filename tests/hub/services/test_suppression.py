"""One suppression rule for every published table: nothing under the limit, and nothing
hidden that the published cells and their sums give away."""

from __future__ import annotations

import numpy as np

from hub.services.overlap import determined_cells
from hub.services.suppression import Sum, suppress, two_way


def test_a_lone_small_cell_takes_a_partner_so_the_total_does_not_give_it_away() -> None:
    counts = {"total": 60, "a": 30, "b": 25, "c": 5}
    shown = suppress(counts, [Sum("total", {"a": 1, "b": 1, "c": 1})], always=frozenset({"total"}))
    assert shown["c"] is None
    assert shown["b"] is None  # else c = 60 - 30 - 25
    assert (shown["total"], shown["a"]) == (60, 30)


def test_weighted_sums_count_too() -> None:
    """Clusters by size: the number of clusters and of records are both published."""
    sizes = {1: 500, 2: 40, 3: 12, 4: 3}
    counts: dict[tuple[str, int], int] = {("n", s): n for s, n in sizes.items()}
    counts |= {("clusters", 0): 555, ("records", 0): 632}
    sums: list[Sum[tuple[str, int]]] = [
        Sum(("clusters", 0), {("n", s): 1.0 for s in sizes}),
        Sum(("records", 0), {("n", s): float(s) for s in sizes}),
    ]
    shown = suppress(counts, sums, always=frozenset({("clusters", 0), ("records", 0)}))
    hidden = [k for k, v in shown.items() if v is None]
    assert ("n", 4) in hidden
    # Two sums: one partner is not enough, the hidden cells must stay undetermined.
    matrix = np.array([[1 if k == s.total else -s.parts.get(k, 0) for k in counts] for s in sums])
    columns = [list(counts).index(k) for k in hidden]
    assert determined_cells(matrix, columns) == set()
    assert all(v is None or v >= 11 or k[0] != "n" for k, v in shown.items())


def test_a_two_way_table_hides_small_cells_and_whatever_pins_them() -> None:
    counts = {
        ("corrections", "waitlist"): 40,
        ("corrections", "transportation"): 3,
        ("child_welfare", "waitlist"): 25,
        ("child_welfare", "transportation"): 30,
    }
    cells, rows, columns = two_way(counts)
    assert cells[("corrections", "transportation")] is None
    published = [v for v in (*cells.values(), *rows.values(), *columns.values()) if v is not None]
    assert all(v >= 11 for v in published)
    # Rebuild the sums and check nothing hidden is determined by what is published.
    keys = (
        [("cell", k) for k in counts] + [("row", r) for r in rows] + [("col", c) for c in columns]
    )
    values = {("cell", k): v for k, v in cells.items()} | {("row", r): v for r, v in rows.items()}
    values |= {("col", c): v for c, v in columns.items()}
    matrix = []
    for r in rows:
        matrix.append(
            [1 if k == ("row", r) else -1 if k[0] == "cell" and k[1][0] == r else 0 for k in keys]
        )
    for c in columns:
        matrix.append(
            [1 if k == ("col", c) else -1 if k[0] == "cell" and k[1][1] == c else 0 for k in keys]
        )
    hidden = [i for i, k in enumerate(keys) if values[k] is None]
    assert determined_cells(np.array(matrix, float), hidden) == set()


def test_random_tables_never_publish_a_small_or_derivable_count() -> None:
    """Two-way tables with their row and column totals, drawn at random: whatever the
    algorithm hides, no hidden count follows from what it publishes."""
    rng = np.random.default_rng(20261205)
    for _ in range(60):
        rows, columns = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        counts = {
            (f"r{i}", f"c{j}"): int(rng.choice([0, 2, 5, 9, 12, 20, 45]))
            for i in range(rows)
            for j in range(columns)
        }
        cells, row_totals, column_totals = two_way(counts)
        values: dict[tuple[str, str, str], int | None] = {
            ("cell", r, c): v for (r, c), v in cells.items()
        }
        values |= {("row", r, ""): v for r, v in row_totals.items()}
        values |= {("column", "", c): v for c, v in column_totals.items()}
        keys = list(values)
        assert all(v is None or v >= 11 for v in values.values())
        matrix = [
            [1 if k == ("row", r, "") else -1 if k[0] == "cell" and k[1] == r else 0 for k in keys]
            for r in row_totals
        ] + [
            [
                1 if k == ("column", "", c) else -1 if k[0] == "cell" and k[2] == c else 0
                for k in keys
            ]
            for c in column_totals
        ]
        hidden = [i for i, k in enumerate(keys) if values[k] is None]
        assert determined_cells(np.array(matrix, float), hidden) == set(), counts
