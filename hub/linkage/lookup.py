"""Scoring one intake encoding against every stored encoding: the core of "who is this?"
before a roster syncs (issue 19's intake lookup).

A lookup is one CLK against all records, so no blocking: the kernel scores every row
(about 15 ms for a million records on one core, `benchmarks/bench_lookup.py`), and the
answer is exact, whatever a typo did to the bits LSH would have keyed on. The index keeps
each agency's CLKs as one matrix with their popcounts, replaced or changed agency by
agency as uploads arrive; it holds references, never identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hub.linkage.kernel import Kernel, Matrix, load_kernel
from hub.linkage.refs import Refs, StateError, as_refs


@dataclass(frozen=True)
class Candidate:
    """A stored record scoring at least the floor against the intake encoding."""

    agency: str
    ref: str
    score: float


@dataclass
class _Agency:
    refs: Refs
    clks: Matrix
    popcounts: npt.NDArray[np.uint32]


class EncodingIndex:
    """Every stored encoding of one epoch, by agency, ready to score one CLK against."""

    def __init__(self, words: int = 16, kernel: Kernel | None = None) -> None:
        self.words = words
        self._kernel = kernel or load_kernel()
        self._agencies: dict[str, _Agency] = {}

    def __len__(self) -> int:
        return sum(len(a.refs) for a in self._agencies.values())

    def replace(self, agency: str, refs: list[str] | Refs, clks: Matrix) -> None:
        """The agency's records are exactly these (an upload of its whole roster)."""
        refs_array = as_refs(refs) if len(refs) else np.empty(0, "S1")
        matrix = np.ascontiguousarray(clks, np.uint64).reshape(-1, self.words)
        if len(matrix) != len(refs_array):
            raise StateError(f"{agency}: {len(refs_array)} references but {len(matrix)} CLKs")
        if len(np.unique(refs_array)) != len(refs_array):
            raise StateError(f"{agency}: a reference appears twice")
        self._agencies[agency] = _Agency(refs_array, matrix, self._kernel.popcounts(matrix))

    def apply(
        self, agency: str, upserts: tuple[list[str] | Refs, Matrix], removals: list[str] | Refs
    ) -> None:
        """New and changed records of one agency, and removed ones (a sync's batch)."""
        current = self._agencies.get(agency)
        new_refs = as_refs(upserts[0]) if len(upserts[0]) else np.empty(0, "S1")
        gone = as_refs(removals) if len(removals) else np.empty(0, "S1")
        if current is None:
            self.replace(agency, new_refs, upserts[1])
            return
        width = f"S{max(current.refs.dtype.itemsize, new_refs.dtype.itemsize, gone.dtype.itemsize)}"
        kept = current.refs.astype(width)
        keep = ~np.isin(kept, np.concatenate([new_refs.astype(width), gone.astype(width)]))
        self.replace(
            agency,
            np.concatenate([kept[keep], new_refs.astype(width)]),
            np.concatenate([current.clks[keep], np.asarray(upserts[1], np.uint64)]),
        )

    def match(self, clk: bytes, floor: float, *, skip: str | None = None) -> list[Candidate]:
        """Every stored record scoring at least `floor` against `clk` (not the agency
        `skip`, the one asking), best first."""
        query = np.frombuffer(clk, np.uint64).reshape(1, -1)
        if query.shape[1] != self.words:
            raise StateError(f"the encoding is {len(clk)} bytes; stored ones are {self.words * 8}")
        counts = self._kernel.popcounts(query)
        found = []
        for name, stored in self._agencies.items():
            if name == skip or len(stored.refs) == 0:
                continue
            pairs = self._kernel.block(query, counts, stored.clks, stored.popcounts, floor)
            found += [
                Candidate(name, stored.refs[j].decode(), float(score))
                for j, score in zip(pairs.right.tolist(), pairs.scores.tolist(), strict=True)
            ]
        return sorted(found, key=lambda c: (-c.score, c.agency, c.ref))
