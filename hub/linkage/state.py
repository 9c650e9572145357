"""The hub's linkage state: every current encoding, the scored pairs at or above the link
threshold, and the clusters they make, updated in place by each sync's changes.

An update kills the rows of removed and changed records, appends rows for new and
changed ones, scores only the new rows against everything (the candidates a full re-link
would score for them, see `scoring`), and re-solves only the connected components it
touched. Greedy solving is separable by component, so the result equals a full re-link
of the same records at the same settings. Cluster ids are stable: a re-solved cluster
keeps the id of the old cluster it shares most records with.

Memory per record: the CLK (128 bytes), its reference, a live flag and a cluster id;
pairs are kept only at or above the threshold.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from hub.failures import HubError
from hub.linkage.executors import Executor, ThreadExecutor
from hub.linkage.kernel import Kernel, Matrix, Pairs, load_kernel
from hub.linkage.scoring import Candidates, score_between
from hub.linkage.solving import greedy

_ROW_BITS = 32
_ROW_MASK = (1 << _ROW_BITS) - 1
Refs = npt.NDArray[np.bytes_]
Progress = Callable[[str, float], None]
# Sorted left ends with their edge ids, and the same for right ends.
_EdgeIndex = tuple[
    tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
]


class StateError(HubError, ValueError):
    """An update that cannot be applied as given (nothing was changed)."""


def is_hex64(refs: Refs) -> bool:
    """Every entry is exactly 64 lowercase hex digits."""
    data = refs.tobytes()
    return len(data) == 64 * len(refs) and re.fullmatch(rb"[0-9a-f]*", data) is not None


RAW_REF = np.dtype("V32")  # a node reference's 32 bytes: sortable, never trimmed


def raw_refs(refs: Refs) -> Refs:
    """64-hex references (an S64 array) as RAW_REF."""
    return np.frombuffer(bytes.fromhex(refs.tobytes().decode("ascii")), RAW_REF).copy()


def as_refs(refs: Sequence[str] | Refs) -> Refs:
    """References as a fixed-width bytes array (compact: no Python string per record)."""
    if isinstance(refs, np.ndarray) and (refs.dtype.kind == "S" or refs.dtype == RAW_REF):
        return refs
    encoded = [r.encode("utf-8") for r in refs]
    width = max((len(r) for r in encoded), default=1)
    return np.array(encoded, dtype=f"S{max(1, width)}")


@dataclass(frozen=True)
class LinkConfig:
    """What a linkage state links at: its threshold, review band and candidates."""

    threshold: float
    review_margin: float = 0.05
    dedupe_within: bool = False
    candidates: Candidates = field(default_factory=Candidates)

    @property
    def disclose_at(self) -> float:
        """The least score of a link that needs no review. Rounded, so that 0.8 + 0.05
        is 0.85 and not 0.8500000000000001: a Dice score of exactly 0.85 is past the
        band the operator set, not in it."""
        return round(self.threshold + self.review_margin, 12)

    def describe(self) -> dict[str, Any]:
        """JSON-able; `from_description` gives the same config back."""
        return {
            "threshold": self.threshold,
            "review_margin": self.review_margin,
            "dedupe_within": self.dedupe_within,
            "candidates": self.candidates.describe(),
        }

    @classmethod
    def from_description(cls, data: Mapping[str, Any]) -> LinkConfig:
        """The inverse of `describe`."""
        return cls(
            threshold=float(data["threshold"]),
            review_margin=float(data["review_margin"]),
            dedupe_within=bool(data["dedupe_within"]),
            candidates=Candidates.from_description(data["candidates"]),
        )


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


@cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


_M_MMAP_THRESHOLD = -3


def keep_big_arrays_out_of_the_heap() -> None:
    """Fix glibc's mmap threshold at 1 MiB. Left dynamic, it rises to the largest block
    freed so far, after which every big array lands in the heap and the heap keeps the
    peak of the busiest step for the life of the process. (At the 128 KiB default, the
    many chunk-sized arrays of scoring each cost an mmap, and linking is much slower.)"""
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)


def release_free_memory() -> None:
    """Hand memory freed by a big step back to the system (glibc keeps it otherwise,
    and the next step's peak lands on top of it)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def _resized(array: Any, capacity: int) -> Any:
    grown = np.zeros((capacity, *array.shape[1:]), array.dtype)
    grown[: len(array)] = array[: min(len(array), capacity)]
    return grown


@dataclass
class UpdateReport:
    """What one update did and what it cost."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    comparisons: int = 0
    candidates_scored: int = 0
    pairs_added: int = 0
    pairs_removed: int = 0
    records_resolved: int = 0
    clusters_created: int = 0
    clusters_dissolved: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        """Counts by name."""
        return dict(vars(self))


@dataclass(frozen=True)
class ClusterRow:
    """One record's place: its cluster id, agency and reference."""

    cluster_id: int
    agency: str
    ref: str


@dataclass(frozen=True)
class LinkRow:
    """One link the solver used, with its score and whether it awaits review."""

    agency_a: str
    ref_a: str
    agency_b: str
    ref_b: str
    score: float
    review: bool


class LinkageState:
    """See the module notes."""

    def __init__(self, config: LinkConfig, *, words: int = 16) -> None:
        keep_big_arrays_out_of_the_heap()
        self.config = config
        self.words = words
        self.agencies: list[AgencyRecords] = []
        self._index: dict[str, int] = {}
        self.edge_left = np.empty(0, np.int64)
        self.edge_right = np.empty(0, np.int64)
        self.edge_score = np.empty(0, np.float64)
        self.edge_link = np.empty(0, bool)
        self.edge_duplicate = np.empty(0, bool)
        self._index_cache: _EdgeIndex | None = None
        # True once references are 64-hex digests, held as their 32 raw bytes.
        self.hex_refs: bool | None = None
        self.next_cluster = 1
        # What the last update re-solved and removed: what a store must rewrite.
        self.last_resolved = np.empty(0, np.int64)
        self.last_removed: list[tuple[str, str]] = []

    # -- references ----------------------------------------------------------------------

    def _encode(self, refs: Refs) -> Refs:
        """Node references (64 lowercase hex digits) as their 32 bytes (`RAW_REF`): half
        the memory. Other references (offline files may use any) are kept as text; one
        state never mixes the two."""
        if len(refs) == 0:
            return np.empty(0, RAW_REF) if self.hex_refs else refs
        raw = refs.dtype == RAW_REF
        hexadecimal = raw or (refs.dtype.itemsize == 64 and is_hex64(refs))
        if self.hex_refs is None:
            self.hex_refs = hexadecimal
        if not self.hex_refs:
            if raw:
                raise StateError("raw references given to a state of text references")
            return refs
        if not hexadecimal:
            raise StateError("references must all be 64 lowercase hex digits, as the first were")
        return refs if raw else raw_refs(refs)

    def text(self, ref: bytes) -> str:
        """A stored reference as the agency wrote it."""
        return bytes(ref).hex() if self.hex_refs else bytes(ref).decode()

    # -- reading -------------------------------------------------------------------------

    def records(self) -> int:
        """Live records across agencies."""
        return sum(a.live() for a in self.agencies)

    def clusters(self) -> list[ClusterRow]:
        """Every clustered record, by cluster id then agency and reference."""
        rows = [
            ClusterRow(int(c), rec.name, self.text(r))
            for rec in self.agencies
            for c, r in zip(
                rec.cluster[: rec.size][rec.alive[: rec.size] & (rec.cluster[: rec.size] > 0)],
                rec.refs[: rec.size][rec.alive[: rec.size] & (rec.cluster[: rec.size] > 0)],
                strict=True,
            )
        ]
        return sorted(rows, key=lambda r: (r.cluster_id, r.agency, r.ref))

    def partition(self) -> set[frozenset[tuple[str, str]]]:
        """The clusters as sets of (agency, reference): what equivalence is judged on."""
        groups: dict[int, set[tuple[str, str]]] = {}
        for row in self.clusters():
            groups.setdefault(row.cluster_id, set()).add((row.agency, row.ref))
        return {frozenset(g) for g in groups.values()}

    def _name(self, node: int) -> tuple[str, str]:
        rec = self.agencies[node >> _ROW_BITS]
        return rec.name, self.text(rec.refs[node & _ROW_MASK])

    def links(self, *, duplicates: bool = False) -> list[LinkRow]:
        """The links (or, with `duplicates`, the within-agency duplicate pairs)."""
        return self._link_rows(self.edge_duplicate if duplicates else self.edge_link)

    def _link_rows(self, chosen: npt.NDArray[np.bool_]) -> list[LinkRow]:
        disclose = self.config.disclose_at
        out = []
        for e in np.nonzero(chosen)[0].tolist():
            a, b = sorted((self._name(int(self.edge_left[e])), self._name(int(self.edge_right[e]))))
            score = float(self.edge_score[e])
            out.append(LinkRow(a[0], a[1], b[0], b[1], score, score < disclose))
        return sorted(out, key=lambda r: (-r.score, r.agency_a, r.ref_a, r.agency_b, r.ref_b))

    def placed(self, nodes: npt.NDArray[np.int64] | None = None) -> list[ClusterRow]:
        """The cluster of each given node (default: the last update's re-solved nodes)
        that is in one; the rows a store rewrites after an update."""
        nodes = self.last_resolved if nodes is None else nodes
        out = []
        for index, rec in enumerate(self.agencies):
            rows = nodes[(nodes >> _ROW_BITS) == index] & _ROW_MASK
            rows = rows[rec.alive[rows] & (rec.cluster[rows] > 0)]
            out += [
                ClusterRow(int(c), rec.name, self.text(r))
                for c, r in zip(rec.cluster[rows], rec.refs[rows], strict=True)
            ]
        return out

    def resolved_keys(self) -> set[tuple[str, str]]:
        """(agency, reference) of every record the last update re-solved."""
        nodes = self.last_resolved
        return {
            (rec.name, self.text(ref))
            for index, rec in enumerate(self.agencies)
            for ref in rec.refs[nodes[(nodes >> _ROW_BITS) == index] & _ROW_MASK]
        }

    def links_among(self, nodes: npt.NDArray[np.int64] | None = None) -> list[LinkRow]:
        """Links and joined duplicates with an end among the nodes (default: the last
        update's re-solved)."""
        nodes = self.last_resolved if nodes is None else nodes
        chosen = (self.edge_link | self.edge_duplicate) & np.isin(self.edge_left, nodes)
        return self._link_rows(chosen)

    def joined(self) -> list[LinkRow]:
        """Every pair that holds a cluster together: the links across agencies and the
        duplicates within one (an agency's two records of one person)."""
        return self._link_rows(self.edge_link | self.edge_duplicate)

    def cluster_of(self, agency: str, ref: str) -> int:
        """A record's cluster id (0: in none, or unknown)."""
        if agency not in self._index:
            return 0
        rec = self.agency(agency)
        row = int(rec.lookup(self._encode(as_refs([ref])))[0])
        return int(rec.cluster[row]) if row >= 0 else 0

    # -- updating ------------------------------------------------------------------------

    def agency(self, name: str) -> AgencyRecords:
        """An agency's rows, created empty on first use."""
        if name not in self._index:
            self._index[name] = len(self.agencies)
            self.agencies.append(AgencyRecords(name, self.words))
        return self.agencies[self._index[name]]

    def update(
        self,
        upserts: Mapping[str, tuple[Sequence[str] | Refs, Matrix]],
        removals: Mapping[str, Sequence[str] | Refs] | None = None,
        *,
        kernel: Kernel | None = None,
        executor: Executor | None = None,
        progress: Progress | None = None,
        adopt: bool = False,
        clusters: Mapping[str, npt.NDArray[np.int64]] | None = None,
    ) -> UpdateReport:
        """Apply new, changed and removed records (see the module notes). With `adopt`,
        an agency's first rows are the given arrays, not copies: the caller must not
        change them afterwards. `clusters` gives new records the cluster ids they had
        in an earlier state (a rebuild keeps ids), row for row with the upserts."""
        started = time.perf_counter()
        kernel = kernel or load_kernel()
        executor = executor or ThreadExecutor(kernel)
        report = UpdateReport()
        removals = removals or {}
        prepared = self._prepare(upserts, removals)
        self._seed_ids(clusters or {}, upserts)
        dead, old_size = self._apply_records(prepared, report, adopt, clusters or {})
        dead_nodes = np.concatenate(dead) if dead else np.empty(0, np.int64)
        touched = [dead_nodes]
        if len(dead_nodes) and len(self.edge_left):
            drop = np.isin(self.edge_left, dead_nodes) | np.isin(self.edge_right, dead_nodes)
            report.pairs_removed = int(drop.sum())
            touched += [self.edge_left[drop], self.edge_right[drop]]
            self._keep_edges(~drop)
        left, right, scores = self._score_new(old_size, kernel, executor, report, progress)
        touched += [left, right]
        for index, first in old_size.items():
            rec = self.agencies[index]
            touched.append((index << _ROW_BITS) | np.arange(first, rec.size, dtype=np.int64))
        self._add_edges(left, right, scores)
        report.pairs_added = len(left)
        if progress:
            progress("clustering", 0.95)
        self._resolve(np.unique(np.concatenate(touched)), report)
        self._compact_if_sparse()
        release_free_memory()
        report.seconds = time.perf_counter() - started
        return report

    def _seed_ids(
        self,
        clusters: Mapping[str, npt.NDArray[np.int64]],
        upserts: Mapping[str, tuple[Sequence[str] | Refs, Matrix]],
    ) -> None:
        for name, ids in clusters.items():
            if len(ids) != len(upserts[name][0]):
                raise StateError(f"{name}: cluster ids do not match the upserts row for row")
            if len(ids):
                self.next_cluster = max(self.next_cluster, int(np.max(ids)) + 1)

    def _apply_records(
        self,
        prepared: dict[str, tuple[Refs, Matrix, Refs]],
        report: UpdateReport,
        adopt: bool,
        clusters: Mapping[str, npt.NDArray[np.int64]],
    ) -> tuple[list[npt.NDArray[np.int64]], dict[int, int]]:
        """Kill the rows of removed and changed records, append new rows; returns the
        killed nodes and each updated agency's row count before the update."""
        dead: list[npt.NDArray[np.int64]] = []
        old_size: dict[int, int] = {}
        self.last_removed = []
        for name, (refs, clks, removed_refs) in prepared.items():
            rec = self.agency(name)
            index = self._index[name]
            old_size[index] = rec.size
            rows = rec.lookup(refs)
            known = rows >= 0
            same = np.zeros(len(refs), bool)
            if known.any():
                same[known] = np.all(rec.clks[rows[known]] == clks[known], axis=1)
            fresh = ~same
            changed = known & fresh
            report.unchanged += int(same.sum())
            report.changed += int(changed.sum())
            report.added += int((~known).sum())
            inherit = np.zeros(len(refs), np.int64)
            if name in clusters:
                inherit[~known] = np.asarray(clusters[name], np.int64)[~known]
            inherit[changed] = rec.cluster[rows[changed]]
            gone = rec.lookup(removed_refs)
            gone = gone[gone >= 0]
            self.last_removed += [(name, self.text(r)) for r in rec.refs[gone]]
            report.removed += len(gone)
            killed = np.concatenate([rows[changed], gone])
            rec.alive[killed] = False
            rec.cluster[killed] = 0
            dead.append((index << _ROW_BITS) | killed)
            # A changed record's new row starts in its old cluster: ids stay put.
            if fresh.all():
                rec.append(refs, clks, inherit, adopt=adopt)
            else:
                rec.append(refs[fresh], clks[fresh], inherit[fresh])
        return dead, old_size

    def load_scored(
        self,
        upserts: Mapping[str, tuple[Sequence[str] | Refs, Matrix]],
        pairs: dict[tuple[str, str], Pairs],
        clusters: Mapping[str, npt.NDArray[np.int64]] | None = None,
    ) -> UpdateReport:
        """The first build of an empty state from pairs already scored, between each two
        agencies, at or below this state's threshold (rows index the upserts). Gives what
        `update` gives, without scoring twice (pairs within one agency too, when the
        state links them: `(x, x)`, left < right). The state adopts the upserts' arrays and
        consumes `pairs` (the dict is left empty)."""
        started = time.perf_counter()
        if self.agencies:
            raise StateError("load_scored builds an empty state only")
        prepared = self._prepare(upserts, {})
        clusters = clusters or {}
        self._seed_ids(clusters, upserts)
        for name, (refs, clks, _) in prepared.items():
            ids = clusters.get(name, np.zeros(len(refs), np.int32))
            self.agency(name).append(refs, clks, np.asarray(ids), adopt=True)
        report = UpdateReport(added=sum(len(r) for r, _, _ in prepared.values()))
        if any(x == y for x, y in pairs) and not self.config.dedupe_within:
            raise StateError("pairs within an agency, but this state does not link them")
        # The pairs are consumed as they become edges, so both are never held whole.
        while pairs:
            (x, y), found = pairs.popitem()
            hit = found.scores >= self.config.threshold
            self._add_edges(
                (self._index[x] << _ROW_BITS) | found.left[hit],
                (self._index[y] << _ROW_BITS) | found.right[hit],
                found.scores[hit],
            )
        report.pairs_added = len(self.edge_left)
        # Records with no pair and no earlier cluster stay alone: only the rest are solved.
        seeded = [
            (index << _ROW_BITS) | np.flatnonzero(rec.cluster[: rec.size]).astype(np.int64)
            for index, rec in enumerate(self.agencies)
        ]
        self._resolve(np.unique(np.concatenate([self.edge_left, self.edge_right, *seeded])), report)
        release_free_memory()
        report.seconds = time.perf_counter() - started
        return report

    def _prepare(
        self,
        upserts: Mapping[str, tuple[Sequence[str] | Refs, Matrix]],
        removals: Mapping[str, Sequence[str] | Refs],
    ) -> dict[str, tuple[Refs, Matrix, Refs]]:
        prepared: dict[str, tuple[Refs, Matrix, Refs]] = {}
        for name in sorted(set(upserts) | set(removals)):
            refs, clks = upserts.get(name, ([], np.empty((0, self.words), np.uint64)))
            refs_array = self._encode(as_refs(refs) if len(refs) else np.empty(0, "S1"))
            removed = removals.get(name, [])
            removed_array = self._encode(as_refs(removed) if len(removed) else np.empty(0, "S1"))
            matrix = np.ascontiguousarray(clks, np.uint64).reshape(-1, self.words)
            if len(matrix) != len(refs_array):
                raise StateError(f"{name}: {len(refs_array)} references but {len(matrix)} CLKs")
            if len(np.unique(refs_array)) != len(refs_array):
                raise StateError(f"{name}: a reference is upserted twice in one update")
            if len(removed_array) and len(refs_array) and np.isin(removed_array, refs_array).any():
                raise StateError(f"{name}: a reference is both upserted and removed")
            prepared[name] = (refs_array, matrix, removed_array)
        return prepared

    def _score_new(
        self,
        old_size: dict[int, int],
        kernel: Kernel,
        executor: Executor,
        report: UpdateReport,
        progress: Progress | None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Pairs at or above the threshold that involve a new row, each once: the new rows
        of every other agency against each agency's old rows in one pass (so each
        agency's encodings are read once, however many agencies sent changes), then the
        new rows against each other."""
        config = self.config
        new = {
            x: (x << _ROW_BITS) | np.arange(first, self.agencies[x].size, dtype=np.int64)
            for x, first in sorted(old_size.items())
            if self.agencies[x].size > first
        }
        jobs: list[tuple[npt.NDArray[np.int64], Matrix, int, int, bool]] = []
        for y, rec in enumerate(self.agencies):
            old = old_size.get(y, rec.size)
            sources = [x for x in new if x != y or config.dedupe_within]
            if old and sources:
                nodes = np.concatenate([new[x] for x in sources])
                clks = np.concatenate([self._rows(x, new[x]) for x in sources])
                jobs.append((nodes, clks, y, old, False))
        for x, nodes_x in new.items():
            for y in new:
                if x < y or (x == y and config.dedupe_within):
                    jobs.append((nodes_x, self._rows(x, nodes_x), y, -1, x == y))
        lefts: list[npt.NDArray[np.int64]] = []
        rights: list[npt.NDArray[np.int64]] = []
        scores: list[npt.NDArray[np.float64]] = []
        for done, (nodes, a, y, old, same) in enumerate(jobs):
            rec_y = self.agencies[y]
            if progress:
                progress(f"scoring changes against {rec_y.name}", 0.9 * done / len(jobs))
            right_nodes = new[y] if old < 0 else (y << _ROW_BITS) | np.arange(old, dtype=np.int64)
            b = a if same else (self._rows(y, new[y]) if old < 0 else rec_y.clks[:old])
            found, blocking = score_between(
                a,
                b,
                config.threshold,
                candidates=config.candidates,
                same=same,
                kernel=kernel,
                executor=executor,
            )
            report.comparisons += blocking.comparisons
            report.candidates_scored += blocking.candidates_scored
            left, right = nodes[found.left], right_nodes[found.right]
            live = rec_y.alive[right & _ROW_MASK]
            if not config.dedupe_within:
                live &= (left >> _ROW_BITS) != (right >> _ROW_BITS)
            lefts.append(left[live])
            rights.append(right[live])
            scores.append(found.scores[live])
        if not lefts:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
        return (
            np.concatenate(lefts).astype(np.int64),
            np.concatenate(rights).astype(np.int64),
            np.concatenate(scores).astype(np.float64),
        )

    def _rows(self, index: int, nodes: npt.NDArray[np.int64]) -> Matrix:
        """The CLKs of consecutive new rows of one agency (a view, not a copy)."""
        rec = self.agencies[index]
        rows = nodes & _ROW_MASK
        return rec.clks[int(rows[0]) : int(rows[-1]) + 1] if len(rows) else rec.clks[:0]

    def _keep_edges(self, keep: npt.NDArray[np.bool_]) -> None:
        self._index_cache = None
        self.edge_left = self.edge_left[keep]
        self.edge_right = self.edge_right[keep]
        self.edge_score = self.edge_score[keep]
        self.edge_link = self.edge_link[keep]
        self.edge_duplicate = self.edge_duplicate[keep]

    def _add_edges(
        self,
        left: npt.NDArray[np.int64],
        right: npt.NDArray[np.int64],
        scores: npt.NDArray[np.float64],
    ) -> None:
        self._index_cache = None
        self.edge_left = np.concatenate([self.edge_left, left])
        self.edge_right = np.concatenate([self.edge_right, right])
        self.edge_score = np.concatenate([self.edge_score, scores])
        self.edge_link = np.concatenate([self.edge_link, np.zeros(len(left), bool)])
        self.edge_duplicate = np.concatenate([self.edge_duplicate, np.zeros(len(left), bool)])

    def _edges_at(self, nodes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Ids of the edges with an end among `nodes` (sorted, unique), each once. Looks
        up sorted copies of the ends, so the cost follows the answer, not the edge count."""
        if self._index_cache is None:
            by_left = np.argsort(self.edge_left, kind="stable")
            by_right = np.argsort(self.edge_right, kind="stable")
            self._index_cache = (
                (self.edge_left[by_left], by_left),
                (self.edge_right[by_right], by_right),
            )
        found = []
        for ends, order in self._index_cache:
            lo = np.searchsorted(ends, nodes, "left")
            hi = np.searchsorted(ends, nodes, "right")
            counts = hi - lo
            total = int(counts.sum())
            if total:
                starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
                found.append(order[np.arange(total) + starts])
        return np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)

    def _component(self, seeds: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Every node connected to a seed (the seeds included)."""
        seen = np.unique(seeds)
        frontier = seen
        while len(frontier) and len(self.edge_left):
            hit = self._edges_at(frontier)
            reached = np.unique(np.concatenate([self.edge_left[hit], self.edge_right[hit]]))
            frontier = np.setdiff1d(reached, seen, assume_unique=True)
            seen = np.union1d(seen, frontier)
        return seen

    def _rank(self, nodes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Each node's position in the order of (agency name, reference)."""
        agency = nodes >> _ROW_BITS
        rank = np.empty(len(nodes), np.int64)
        offset = 0
        # One agency at a time: only its members' references are copied to sort them.
        for index in sorted(range(len(self.agencies)), key=lambda i: self.agencies[i].name):
            mine = np.flatnonzero(agency == index)
            if not len(mine):
                continue
            refs = self.agencies[index].refs[nodes[mine] & _ROW_MASK]
            order = np.argsort(refs, kind="stable")
            del refs
            rank[mine[order]] = offset + np.arange(len(mine))
            offset += len(mine)
        return rank

    def _resolve(self, touched: npt.NDArray[np.int64], report: UpdateReport) -> None:
        """Re-solve the components holding `touched` and give their clusters ids."""
        live = np.zeros(len(touched), bool)
        for index, rec in enumerate(self.agencies):
            mine = (touched >> _ROW_BITS) == index
            live[mine] = rec.alive[touched[mine] & _ROW_MASK]
        touched = touched[live]
        if len(touched):
            # Records with no pair and no cluster stay alone: nothing to solve for them.
            clustered = np.zeros(len(touched), bool)
            for index, rec in enumerate(self.agencies):
                mine = (touched >> _ROW_BITS) == index
                clustered[mine] = rec.cluster[touched[mine] & _ROW_MASK] > 0
            at = self._edges_at(touched)  # `touched` is sorted and unique
            paired = np.isin(touched, np.concatenate([self.edge_left[at], self.edge_right[at]]))
            touched = touched[clustered | paired]
            del clustered, at, paired
        del live
        component = self._component(touched)
        del touched  # the big steps below hold only what they need
        self.last_resolved = component
        report.records_resolved = len(component)
        if len(component) == 0:
            return
        edges = self._edges_at(component)
        # An agency's own two records join only at the disclosure bar (threshold plus the
        # review margin): nothing else stops a pair of one agency's strangers, and such a
        # join would make everything linked to either one person.
        own = (self.edge_left[edges] >> _ROW_BITS) == (self.edge_right[edges] >> _ROW_BITS)
        weak = own & (self.edge_score[edges] < self.config.disclose_at)
        self.edge_link[edges[weak]] = False
        self.edge_duplicate[edges[weak]] = False
        edges = edges[~weak]
        old = self._cluster_ids(component)  # parallel to `component`
        for index, rec in enumerate(self.agencies):
            mine = (component >> _ROW_BITS) == index
            rec.cluster[component[mine] & _ROW_MASK] = 0
        previous = np.unique(old[old > 0])
        if len(edges) == 0:
            report.clusters_dissolved += len(previous)
            return
        left, right = self.edge_left[edges], self.edge_right[edges]
        nodes = np.unique(np.concatenate([left, right]))
        rank = self._rank(nodes)
        result = greedy(left, right, self.edge_score[edges], agency=nodes >> _ROW_BITS, rank=rank)
        del left, right, nodes, rank
        self.edge_link[edges] = result.link
        self.edge_duplicate[edges] = result.duplicate
        # Groups of two or more, as members sorted by root and a group number per member.
        by_root = np.argsort(result.root, kind="stable")
        roots = result.root[by_root]
        _, group, sizes = np.unique(roots, return_inverse=True, return_counts=True)
        keep = sizes[group] > 1
        members, group = result.nodes[by_root][keep], group[keep]
        _, group = np.unique(group, return_inverse=True)
        used = self._assign_ids(members, group, old[np.searchsorted(component, members)], report)
        report.clusters_dissolved += len(np.setdiff1d(previous, used))

    def _cluster_ids(self, nodes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        out = np.zeros(len(nodes), np.int64)
        for index, rec in enumerate(self.agencies):
            mine = (nodes >> _ROW_BITS) == index
            out[mine] = rec.cluster[nodes[mine] & _ROW_MASK]
        return out

    def _assign_ids(
        self,
        members: npt.NDArray[np.int64],
        group: npt.NDArray[np.int64],
        old: npt.NDArray[np.int64],
        report: UpdateReport,
    ) -> npt.NDArray[np.int64]:
        """Each group takes the old id it shares most records with (ties: the smaller id,
        then the group whose first record comes first), each old id at most once; the rest
        get new ids, in the order of their first records. Returns the old ids kept."""
        count = int(group.max()) + 1 if len(group) else 0
        if count == 0:
            return np.empty(0, np.int64)
        firsts = np.full(count, np.iinfo(np.int64).max)
        np.minimum.at(firsts, group, self._rank(members))
        position = np.empty(count, np.int64)
        position[np.argsort(firsts, kind="stable")] = np.arange(count)
        had = old > 0
        pairs, shared = np.unique(
            np.stack([group[had], old[had]], axis=1), axis=0, return_counts=True
        )
        ids = np.zeros(count, np.int64)
        taken: set[int] = set()
        if len(pairs):
            offer = np.lexsort((position[pairs[:, 0]], pairs[:, 1], -shared))
            for g, cid in pairs[offer].tolist():
                if ids[g] == 0 and cid not in taken:
                    ids[g] = cid
                    taken.add(cid)
        fresh = np.nonzero(ids == 0)[0]
        fresh = fresh[np.argsort(position[fresh], kind="stable")]
        ids[fresh] = np.arange(self.next_cluster, self.next_cluster + len(fresh))
        self.next_cluster += len(fresh)
        report.clusters_created += len(fresh)
        per_member = ids[group]
        for index, rec in enumerate(self.agencies):
            mine = (members >> _ROW_BITS) == index
            rec.cluster[members[mine] & _ROW_MASK] = per_member[mine]
        return np.array(sorted(taken), np.int64)

    def _compact_if_sparse(self) -> None:
        """Drop dead rows once they are a fifth of an agency's rows."""
        for index, rec in enumerate(self.agencies):
            dead = rec.size - rec.live()
            if dead < 1024 or dead * 5 < rec.size:
                continue
            self._index_cache = None
            keep = np.nonzero(rec.alive[: rec.size])[0]
            remap = np.full(rec.size, -1, np.int64)
            remap[keep] = np.arange(len(keep))
            for ends in (self.edge_left, self.edge_right):
                mine = (ends >> _ROW_BITS) == index
                ends[mine] = (index << _ROW_BITS) | remap[ends[mine] & _ROW_MASK]
            n = len(keep)
            rec.clks[:n] = rec.clks[keep]
            rec.refs[:n] = rec.refs[keep]
            rec.cluster[:n] = rec.cluster[keep]
            rec.alive[:n] = True
            rec.alive[n:] = False
            rec.size = n
