"""The overlap report's suppression as the number of programs grows (target: 20
programs in under 2 s).

Clusters are drawn so that about 40% of 200,000 people are served by more than one
program (up to 6). Reference, measured in the same run on the same clusters: the method
this project used before, every combination of programs published and one rank test per
suppressed cell, repeated after each complementary suppression (exponential in the
number of programs; run only where it finishes in reasonable time). Both must leave no
suppressed cell derivable; the numbers of suppressed cells are printed side by side.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import numpy as np
from rich.console import Console
from rich.table import Table

from hub.services.overlap import OverlapReport, constraints, overlap_counts, overlap_report

T = TypeVar("T")
PEOPLE = int(os.environ.get("PPRL_BENCH_OVERLAP_PEOPLE", "200000"))
REFERENCE_UP_TO = int(os.environ.get("PPRL_BENCH_OVERLAP_REFERENCE_UP_TO", "7"))


def run() -> None:
    """Measure and print."""
    console = Console(width=120)
    table = Table(
        "programs",
        "cells published",
        "suppressed",
        "time",
        "reference time",
        "reference suppressed",
        "ratio",
        title=f"overlap report, {PEOPLE:,} people, limit 11",
    )
    for n in (5, 7, 10, 15, 20):
        table.add_row(*_row(n))
    console.print(table)


def _row(n: int) -> list[str]:
    programs = [f"program_{i:02d}" for i in range(n)]
    clusters = _clusters(programs, random.Random(n))  # noqa: S311  (synthetic data)
    caseloads = {p: sum(p in c for c in clusters) for p in programs}
    report, seconds = _timed(lambda: overlap_report(caseloads, clusters))
    row = [str(n), str(len(report.cells)), _suppressed(report), f"{seconds:.2f} s"]
    if n > REFERENCE_UP_TO:
        return [*row, "(exponential: not run)", "", ""]
    # The same, every combination published, against the old per-cell rank tests.
    mine, mine_s = _timed(lambda: overlap_report(caseloads, clusters, max_programs=n))
    hidden, ref_s = _timed(lambda: _reference(caseloads, clusters))
    ours = f"{hidden} (ours, all combinations: {_suppressed(mine)} in {mine_s:.2f} s)"
    return [*row, f"{ref_s:.2f} s", ours, f"{ref_s / mine_s:.1f}x"]


def _clusters(programs: list[str], rng: random.Random) -> list[frozenset[str]]:
    sizes = rng.choices([1, 2, 3, 4, 5, 6], weights=[60, 25, 9, 4, 1.5, 0.5], k=PEOPLE)
    # Some programs serve many more people than others, as in a real state.
    weights = [1 / (i + 1) for i in range(len(programs))]
    out = []
    for size in sizes:
        chosen: set[str] = set()
        while len(chosen) < min(size, len(programs)):
            chosen.add(rng.choices(programs, weights=weights)[0])
        out.append(frozenset(chosen))
    return out


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def _suppressed(report: OverlapReport) -> str:
    return f"{report.suppressed_primary} + {report.suppressed_complementary}"


def _reference(caseloads: Mapping[str, int], clusters: list[frozenset[str]]) -> int:
    """The earlier method: every combination, one rank test per suppressed cell."""
    n = len(caseloads)
    counts = overlap_counts(caseloads, clusters, max_programs=n)
    keys = list(counts)
    matrix = constraints(keys, [])
    hidden = {i for i, k in enumerate(keys) if counts[k] < 11 and k[0] != "caseload"}
    structural: set[int] = set()
    while True:
        order = sorted(hidden)
        exposed = next(
            (i for i in order if i not in structural and _determined(matrix, order, i)), None
        )
        if exposed is None:
            return len(hidden)
        candidates = [
            j
            for row in matrix
            if row[exposed] != 0
            for j in np.flatnonzero(row).tolist()
            if j not in hidden and keys[j][0] != "caseload"
        ]
        if not candidates:
            structural.add(exposed)
            continue
        hidden.add(min(candidates, key=lambda j: (counts[keys[j]], j)))


def _determined(matrix: np.ndarray, hidden: list[int], cell: int) -> bool:
    sub = matrix[:, hidden]
    unit = np.zeros(len(hidden))
    unit[hidden.index(cell)] = 1.0
    return bool(np.linalg.matrix_rank(np.vstack([sub, unit])) == np.linalg.matrix_rank(sub))


__all__ = ["run"]
