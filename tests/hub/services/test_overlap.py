"""The overlap report: true counts, and suppressed cells that cannot be worked out."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.services.overlap import overlap_counts, overlap_report

PROGRAMS = ("child_welfare", "corrections", "employment", "juvenile_justice", "voc_rehab")


def _clusters(rng: random.Random, n: int) -> list[frozenset[str]]:
    out = []
    for _ in range(n):
        size = rng.choices([1, 2, 3, 4], weights=[60, 30, 8, 2])[0]
        out.append(frozenset(rng.sample(PROGRAMS, size)))
    return out


def test_counts_match_a_direct_count() -> None:
    rng = random.Random(3)
    clusters = _clusters(rng, 5000)
    caseloads = {p: sum(p in c for c in clusters) for p in PROGRAMS}
    report = overlap_report(caseloads, clusters, limit=11, max_programs=5)
    published = {(c.kind, c.programs): c.count for c in report.cells}
    for a, b in itertools.combinations(PROGRAMS, 2):
        direct = sum(1 for c in clusters if a in c and b in c)
        assert published[("pair", (a, b))] in (direct, None)
    for combo in itertools.combinations(PROGRAMS, 3):
        direct = sum(1 for c in clusters if c == frozenset(combo))
        assert published[("exactly", combo)] in (direct, None)
    for p in PROGRAMS:
        assert published[("shared_any", (p,))] == sum(1 for c in clusters if p in c and len(c) > 1)
        cell = next(c for c in report.cells if c.kind == "pair" and p in c.programs)
        if cell.count is not None:
            assert cell.percent_of[p] == round(100 * cell.count / caseloads[p], 1)
    assert report.suppressed_primary > 0  # the 4- and 5-program combinations are small


def _solvable(
    report_cells: list[tuple[str, tuple[str, ...], int | None]],
    target: int,
    beyond: Sequence[tuple[str, ...]] = (),
) -> bool:
    """Independent check: can the hidden cell `target` be pinned down? Build the sums from
    scratch (combinations too large to publish, `beyond`, as unknowns), eliminate the
    published cells, and ask whether the hidden cell's value is the same in every
    solution (the null space has no component on it)."""
    keys = [(k, p) for k, p, _ in report_cells] + [("beyond", c) for c in beyond]
    combos = [i for i, (k, _) in enumerate(keys) if k in ("exactly", "beyond")]
    rows = []
    for i, (kind, programs) in enumerate(keys):
        if kind == "pair":
            parts = [j for j in combos if set(programs) <= set(keys[j][1])]
        elif kind == "shared_any":
            parts = [j for j in combos if programs[0] in keys[j][1]]
        else:
            continue
        row = np.zeros(len(keys))
        row[i] = 1
        row[parts] -= 1
        rows.append(row)
    matrix = np.array(rows)
    hidden = [i for i, (_, _, v) in enumerate(report_cells) if v is None]
    hidden += list(range(len(report_cells), len(keys)))
    sub = matrix[:, hidden]
    _, s, vt = np.linalg.svd(sub)
    rank = int((s > 1e-9).sum())
    null = vt[rank:]
    return bool(np.all(np.abs(null[:, hidden.index(target)]) < 1e-9))


def _beyond(clusters: list[frozenset[str]], max_programs: int) -> list[tuple[str, ...]]:
    return sorted({tuple(sorted(c)) for c in clusters if len(c) > max_programs})


@pytest.mark.parametrize("max_programs", [3, 5])
@pytest.mark.parametrize("seed", range(6))
def test_no_suppressed_cell_can_be_derived_from_the_published_ones(
    seed: int, max_programs: int
) -> None:
    rng = random.Random(seed)
    clusters = _clusters(rng, rng.choice([200, 800, 3000]))
    caseloads = {p: sum(p in c for c in clusters) + rng.randint(0, 500) for p in PROGRAMS}
    report = overlap_report(caseloads, clusters, limit=11, max_programs=max_programs)
    cells = [(c.kind, c.programs, c.count) for c in report.cells]
    true = overlap_counts(caseloads, clusters, max_programs=max_programs)
    beyond = _beyond(clusters, max_programs)
    for i, (kind, programs, count) in enumerate(cells):
        if count is None:
            assert not _solvable(cells, i, beyond), (kind, programs)
        elif kind != "caseload":
            assert count >= 11
            assert count == true[(kind, programs)]
    # Every small cell is hidden.
    for c in report.cells:
        if c.kind != "caseload" and true[(c.kind, c.programs)] < 11:
            assert c.count is None
            assert all(v is None for v in c.percent_of.values())


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sets(st.sampled_from(PROGRAMS[:4]), min_size=1, max_size=4), max_size=120))
def test_protection_holds_on_any_small_table(sets: list[set[str]]) -> None:
    clusters = [frozenset(s) for s in sets]
    caseloads = {p: 50 + sum(p in c for c in clusters) for p in PROGRAMS[:4]}
    for max_programs in (3, 4):
        report = overlap_report(caseloads, clusters, limit=5, max_programs=max_programs)
        cells = [(c.kind, c.programs, c.count) for c in report.cells]
        beyond = _beyond(clusters, max_programs)
        for i, (_, _, count) in enumerate(cells):
            if count is None:
                assert not _solvable(cells, i, beyond)


def test_twelve_programs_are_counted_and_protected_up_to_three_at_a_time() -> None:
    """The red team's scaling case: 10 programs never finished when every combination
    was published and each suppressed cell tested alone; now 2^12 combinations are not
    even formed."""
    programs = tuple(f"p{i:02d}" for i in range(12))
    rng = random.Random(12)
    clusters = []
    for _ in range(5_000):
        size = rng.choices([1, 2, 3, 4, 5], weights=[60, 25, 10, 4, 1])[0]
        clusters.append(frozenset(rng.sample(programs, size)))
    caseloads = {p: sum(p in c for c in clusters) for p in programs}
    report = overlap_report(caseloads, clusters, limit=11)
    assert max(len(c.programs) for c in report.cells) == 3
    cells = [(c.kind, c.programs, c.count) for c in report.cells]
    beyond = _beyond(clusters, 3)
    hidden = [i for i, (_, _, count) in enumerate(cells) if count is None]
    assert hidden
    for i in hidden[::5][:12]:
        assert not _solvable(cells, i, beyond)
