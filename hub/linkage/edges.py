"""The scored pairs of a linkage state: two node ids, a score, and whether the solver
used the pair as a link (across agencies) or joined it as a duplicate (within one).
Arrays, not objects: a million pairs cost 34 MB."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hub.linkage.records import ROW_BITS, ROW_MASK, Nodes

# Sorted left ends with their edge ids, and the same for right ends.
_EdgeIndex = tuple[tuple[Nodes, Nodes], tuple[Nodes, Nodes]]


class EdgeSet:
    """Pairs at or above the threshold, with the lookups the solver needs."""

    def __init__(self) -> None:
        self.left = np.empty(0, np.int64)
        self.right = np.empty(0, np.int64)
        self.score = np.empty(0, np.float64)
        self.link = np.empty(0, bool)
        self.duplicate = np.empty(0, bool)
        self._index: _EdgeIndex | None = None

    def __len__(self) -> int:
        return len(self.left)

    def keep(self, keep: npt.NDArray[np.bool_]) -> None:
        """Drop the edges not in `keep`."""
        self._index = None
        self.left = self.left[keep]
        self.right = self.right[keep]
        self.score = self.score[keep]
        self.link = self.link[keep]
        self.duplicate = self.duplicate[keep]

    def add(self, left: Nodes, right: Nodes, scores: npt.NDArray[np.float64]) -> None:
        """New edges, not yet links or duplicates."""
        self._index = None
        self.left = np.concatenate([self.left, left])
        self.right = np.concatenate([self.right, right])
        self.score = np.concatenate([self.score, scores])
        self.link = np.concatenate([self.link, np.zeros(len(left), bool)])
        self.duplicate = np.concatenate([self.duplicate, np.zeros(len(left), bool)])

    def touching(self, nodes: Nodes) -> Nodes:
        """Ids of the edges with an end among `nodes` (sorted, unique), each once. Looks
        up sorted copies of the ends, so the cost follows the answer, not the edge count."""
        if self._index is None:
            by_left = np.argsort(self.left, kind="stable")
            by_right = np.argsort(self.right, kind="stable")
            self._index = ((self.left[by_left], by_left), (self.right[by_right], by_right))
        found = []
        for ends, order in self._index:
            lo = np.searchsorted(ends, nodes, "left")
            hi = np.searchsorted(ends, nodes, "right")
            counts = hi - lo
            total = int(counts.sum())
            if total:
                starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
                found.append(order[np.arange(total) + starts])
        return np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)

    def component(self, seeds: Nodes) -> Nodes:
        """Every node connected to a seed (the seeds included)."""
        seen = np.unique(seeds)
        frontier = seen
        while len(frontier) and len(self.left):
            hit = self.touching(frontier)
            reached = np.unique(np.concatenate([self.left[hit], self.right[hit]]))
            frontier = np.setdiff1d(reached, seen, assume_unique=True)
            seen = np.union1d(seen, frontier)
        return seen

    def renumber(self, index: int, remap: npt.NDArray[np.int64]) -> None:
        """Move the ends in the agency at `index` to their rows after a compaction."""
        self._index = None
        for ends in (self.left, self.right):
            mine = (ends >> ROW_BITS) == index
            ends[mine] = (index << ROW_BITS) | remap[ends[mine] & ROW_MASK]
