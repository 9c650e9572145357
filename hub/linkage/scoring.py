"""Scored pairs between two sets of encodings, found by all pairs or by LSH candidates,
scored in chunks on an executor, with memory bounded by the chunks in flight.

Candidacy is a property of each pair alone: every pair (all pairs), or agreement on one
band at positions fixed when the run was configured (LSH). So scoring a few new records
against everything finds exactly the pairs a full re-link would, which is what lets an
incremental update and a full re-link agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hub.linkage.blocking import BlockingReport, LshParams, band_candidates, sample_positions
from hub.linkage.executors import Executor, ThreadExecutor, WorkItem
from hub.linkage.kernel import Kernel, Matrix, Pairs, load_kernel

_A_BLOCK = 256
_B_BLOCK = 1 << 17


@dataclass(frozen=True)
class Candidates:
    """Which pairs get scored: all of them (`positions` None) or LSH candidates."""

    positions: npt.NDArray[np.int64] | None = None

    @classmethod
    def lsh(cls, sample: Matrix, params: LshParams | None = None) -> Candidates:
        """LSH bands at positions drawn from informative bits of `sample`."""
        return cls(sample_positions(sample, params or LshParams()))

    @property
    def method(self) -> str:
        """'all-pairs' or 'lsh'."""
        return "all-pairs" if self.positions is None else "lsh"

    def describe(self) -> dict[str, Any]:
        """A JSON-able description that `from_description` turns back into the same thing."""
        if self.positions is None:
            return {"method": "all-pairs"}
        return {
            "method": "lsh",
            "bands": int(self.positions.shape[0]),
            "bits": int(self.positions.shape[1]),
            "positions": self.positions.tolist(),
        }

    @classmethod
    def from_description(cls, data: dict[str, Any]) -> Candidates:
        """The inverse of `describe`."""
        if data.get("method") == "all-pairs":
            return cls()
        if data.get("method") == "lsh":
            positions = np.asarray(data["positions"], dtype=np.int64)
            if positions.ndim != 2 or positions.shape != (data["bands"], data["bits"]):
                raise ValueError("LSH positions do not match their bands and bits")
            return cls(positions)
        raise ValueError(f"unknown candidate method {data.get('method')!r}")


def _all_pairs_items(n_a: int, n_b: int, same: bool) -> Iterator[WorkItem]:
    for a0 in range(0, n_a, _A_BLOCK):
        a1 = min(n_a, a0 + _A_BLOCK)
        for b0 in range(a0 if same else 0, n_b, _B_BLOCK):
            yield ("block", a0, a1, b0, min(n_b, b0 + _B_BLOCK))


def score_between(
    a: Matrix,
    b: Matrix,
    floor: float,
    *,
    candidates: Candidates = Candidates(),
    same: bool = False,
    keep: float | None = None,
    best: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
    kernel: Kernel | None = None,
    executor: Executor | None = None,
) -> tuple[Pairs, BlockingReport]:
    """Pairs (a[i], b[j]) scoring at least `keep` (default `floor`), each once, sorted by
    (i, j), and what blocking saved. With `same`, a and b are one dataset and only i < j
    comes back. `best`, when given, receives each record's best score among the pairs
    scoring at least `floor`, kept or not."""
    keep = floor if keep is None else keep
    comparisons = len(a) * (len(a) - 1) // 2 if same else len(a) * len(b)
    if len(a) == 0 or len(b) == 0:
        return Pairs.empty(), BlockingReport(comparisons, 0, 1.0, None)
    kernel = kernel or load_kernel()
    executor = executor or ThreadExecutor(kernel)
    scored = 0

    def items() -> Iterator[WorkItem]:
        nonlocal scored
        if candidates.positions is None:
            scored = comparisons
            yield from _all_pairs_items(len(a), len(b), same)
            return
        for left, right in band_candidates(kernel, a, b, candidates.positions, same=same):
            scored += len(left)
            yield ("pairs", left, right)

    width = len(b)
    found = Pairs.empty()
    found_codes = np.empty(0, np.int64)  # sorted codes of `found`
    parts: list[Pairs] = []
    buffered = 0
    for part in executor.score(a, b, items(), floor, same=same):
        if best is not None and len(part):
            np.maximum.at(best[0], part.left, part.scores)
            np.maximum.at(best[1], part.right, part.scores)
        hit = part.scores >= keep
        if len(found_codes):
            # A true pair agrees on most bands: drop pairs already found, or each would be
            # held once per band until the end.
            codes = part.left * width + part.right
            at = np.minimum(np.searchsorted(found_codes, codes), len(found_codes) - 1)
            hit &= found_codes[at] != codes
        if hit.any():
            parts.append(Pairs(part.left[hit], part.right[hit], part.scores[hit]))
            buffered += int(hit.sum())
        if buffered > max(1 << 16, len(found) // 4):
            found, parts, buffered = _unique(Pairs.concat([found, *parts]), width), [], 0
            found_codes = found.left * width + found.right
    found = _unique(Pairs.concat([found, *parts]), width)
    reduction = 1 - scored / comparisons if comparisons else 1.0
    return found, BlockingReport(comparisons, scored, reduction, None)


def _unique(pairs: Pairs, width: int) -> Pairs:
    """Each pair once, sorted by (left, right)."""
    if not len(pairs):
        return pairs
    _, first = np.unique(pairs.left * width + pairs.right, return_index=True)
    return Pairs(pairs.left[first], pairs.right[first], pairs.scores[first])
