"""One agency's rows in a linkage state, and node ids: a node is `(agency index << 32) |
row`, so every record of every agency is one int64 the edge arrays can hold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from hub.linkage.kernel import Matrix
from hub.linkage.refs import RefCodec, Refs, StateError, as_refs

ROW_BITS = 32
ROW_MASK = (1 << ROW_BITS) - 1
Nodes = npt.NDArray[np.int64]


def nodes_of(index: int, rows: npt.NDArray[Any]) -> Nodes:
    """The node ids of rows of the agency at `index`."""
    return (index << ROW_BITS) | np.asarray(rows, np.int64)


def agency_of(nodes: Nodes) -> Nodes:
    """Each node's agency index."""
    return nodes >> ROW_BITS


def row_of(nodes: Nodes) -> Nodes:
    """Each node's row in its agency."""
    return nodes & ROW_MASK


class AgencyRecords:
    """One agency's rows. Rows are only appended; a removed or changed record's old row is
    marked dead and dropped at the next compaction."""

    def __init__(self, name: str, words: int) -> None:
        self.name = name
        self.size = 0
        self.clks: Matrix = np.empty((0, words), np.uint64)
        self.refs: Refs = np.empty(0, "S1")
        self.alive = np.empty(0, bool)
        self.cluster = np.empty(0, np.int32)

    def _reserve(self, extra: int) -> None:
        needed = self.size + extra
        if needed <= len(self.alive):
            return
        # Grow by an eighth, not double: spare capacity costs 140 bytes a row.
        capacity = max(needed, self.size + self.size // 8 + 1024)
        self.clks = _resized(self.clks, capacity)
        self.refs = _resized(self.refs, capacity)
        self.alive = _resized(self.alive, capacity)
        self.cluster = _resized(self.cluster, capacity)

    def append(
        self, refs: Refs, clks: Matrix, clusters: npt.NDArray[Any], *, adopt: bool = False
    ) -> int:
        """Add rows; returns the first new row. With `adopt`, an empty agency takes the
        arrays themselves instead of a copy (a 200,000-record agency saves 25 MB)."""
        first = self.size
        if adopt and first == 0 and len(self.alive) == 0:
            self.clks, self.refs = np.ascontiguousarray(clks, np.uint64), refs
            self.alive = np.ones(len(refs), bool)
            self.cluster = np.asarray(clusters, np.int32)
            self.size = len(refs)
            return 0
        self._reserve(len(refs))
        if first == 0 and self.refs.dtype != refs.dtype:
            self.refs = np.zeros(len(self.refs), refs.dtype)
        elif refs.dtype.itemsize > self.refs.dtype.itemsize:
            self.refs = self.refs.astype(refs.dtype)
        end = first + len(refs)
        self.clks[first:end] = clks
        self.refs[first:end] = refs
        self.alive[first:end] = True
        self.cluster[first:end] = clusters
        self.size = end
        return first

    def lookup(self, refs: Refs) -> npt.NDArray[np.int64]:
        """The live row of each reference, or -1."""
        rows = np.nonzero(self.alive[: self.size])[0]
        if len(rows) == 0 or len(refs) == 0:
            return np.full(len(refs), -1, np.int64)
        keys = self.refs[rows]
        order = np.argsort(keys)
        ordered = keys[order]
        pos = np.minimum(np.searchsorted(ordered, refs), len(ordered) - 1)
        found = ordered[pos] == refs
        return np.where(found, rows[order[pos]], -1).astype(np.int64)

    def live(self) -> int:
        """Live rows."""
        return int(self.alive[: self.size].sum())

    def compact(self) -> npt.NDArray[np.int64] | None:
        """Drop dead rows once they are a fifth of the rows (and at least 1,024): returns
        each old row's new row (-1: dropped), or None when nothing was dropped."""
        dead = self.size - self.live()
        if dead < 1024 or dead * 5 < self.size:
            return None
        keep = np.nonzero(self.alive[: self.size])[0]
        remap = np.full(self.size, -1, np.int64)
        remap[keep] = np.arange(len(keep))
        n = len(keep)
        self.clks[:n] = self.clks[keep]
        self.refs[:n] = self.refs[keep]
        self.cluster[:n] = self.cluster[keep]
        self.alive[:n] = True
        self.alive[n:] = False
        self.size = n
        return remap


def _resized(array: Any, capacity: int) -> Any:
    grown = np.zeros((capacity, *array.shape[1:]), array.dtype)
    grown[: len(array)] = array[: min(len(array), capacity)]
    return grown


_GATHERED = {"alive": np.dtype(bool), "cluster": np.dtype(np.int64)}


def gather(agencies: list[AgencyRecords], nodes: Nodes, field: str) -> npt.NDArray[Any]:
    """Each node's value of a per-row array (`alive` or `cluster`) of its agency."""
    out = np.zeros(len(nodes), _GATHERED[field])
    for index, rec in enumerate(agencies):
        mine = (nodes >> ROW_BITS) == index
        out[mine] = getattr(rec, field)[nodes[mine] & ROW_MASK]
    return out


def set_clusters(agencies: list[AgencyRecords], nodes: Nodes, ids: npt.NDArray[Any] | int) -> None:
    """Give each node's row the cluster id at its position in `ids` (one id: all)."""
    values = np.broadcast_to(np.asarray(ids), nodes.shape)
    for index, rec in enumerate(agencies):
        mine = (nodes >> ROW_BITS) == index
        rec.cluster[nodes[mine] & ROW_MASK] = values[mine]


def rank(agencies: list[AgencyRecords], nodes: Nodes) -> Nodes:
    """Each node's position in the order of (agency name, reference): the solver's
    tie-break, the same whatever order the rows were appended in."""
    agency = nodes >> ROW_BITS
    out = np.empty(len(nodes), np.int64)
    offset = 0
    # One agency at a time: only its members' references are copied to sort them.
    for index in sorted(range(len(agencies)), key=lambda i: agencies[i].name):
        mine = np.flatnonzero(agency == index)
        if not len(mine):
            continue
        refs = agencies[index].refs[nodes[mine] & ROW_MASK]
        order = np.argsort(refs, kind="stable")
        del refs
        out[mine[order]] = offset + np.arange(len(mine))
        offset += len(mine)
    return out


def prepare_changes(
    codec: RefCodec,
    words: int,
    upserts: Mapping[str, tuple[Sequence[str] | Refs, Matrix]],
    removals: Mapping[str, Sequence[str] | Refs],
) -> dict[str, tuple[Refs, Matrix, Refs]]:
    """Each agency's upserted references, CLKs and removed references, as the state holds
    them; StateError (nothing changed) for an update that contradicts itself."""
    prepared: dict[str, tuple[Refs, Matrix, Refs]] = {}
    for name in sorted(set(upserts) | set(removals)):
        refs, clks = upserts.get(name, ([], np.empty((0, words), np.uint64)))
        refs_array = codec.encode(as_refs(refs) if len(refs) else np.empty(0, "S1"))
        removed = removals.get(name, [])
        removed_array = codec.encode(as_refs(removed) if len(removed) else np.empty(0, "S1"))
        matrix = np.ascontiguousarray(clks, np.uint64).reshape(-1, words)
        if len(matrix) != len(refs_array):
            raise StateError(f"{name}: {len(refs_array)} references but {len(matrix)} CLKs")
        if len(np.unique(refs_array)) != len(refs_array):
            raise StateError(f"{name}: a reference is upserted twice in one update")
        if len(removed_array) and len(refs_array) and np.isin(removed_array, refs_array).any():
            raise StateError(f"{name}: a reference is both upserted and removed")
        prepared[name] = (refs_array, matrix, removed_array)
    return prepared
