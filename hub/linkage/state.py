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

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from hub.linkage.cluster_ids import assign_ids
from hub.linkage.edges import EdgeSet
from hub.linkage.executors import Executor, ThreadExecutor
from hub.linkage.kernel import Kernel, Matrix, Pairs, load_kernel
from hub.linkage.memory import release_free_memory
from hub.linkage.new_rows import score_new_rows
from hub.linkage.records import ROW_BITS as _ROW_BITS
from hub.linkage.records import ROW_MASK as _ROW_MASK
from hub.linkage.records import AgencyRecords, gather, prepare_changes, rank, set_clusters
from hub.linkage.refs import RefCodec, Refs, StateError, as_refs
from hub.linkage.results import ClusterRow, LinkConfig, LinkRow, UpdateReport
from hub.linkage.solving import greedy

Progress = Callable[[str, float], None]


class LinkageState:
    """See the module notes."""

    def __init__(self, config: LinkConfig, *, words: int = 16) -> None:
        # The process's memory tuning is its owner's (`hub.linkage.memory`), not a state's.
        self.config = config
        self.words = words
        self.agencies: list[AgencyRecords] = []
        self._index: dict[str, int] = {}
        self.edges = EdgeSet()
        self.refs = RefCodec()
        self.next_cluster = 1
        # What the last update re-solved and removed: what a store must rewrite.
        self.last_resolved = np.empty(0, np.int64)
        self.last_removed: list[tuple[str, str]] = []

    # -- reading -------------------------------------------------------------------------

    @property
    def hex_refs(self) -> bool | None:
        """Whether references are node references held as raw bytes (None: no record yet)."""
        return self.refs.hex_refs

    def text(self, ref: bytes) -> str:
        """A stored reference as the agency wrote it."""
        return self.refs.text(ref)

    def _encode(self, refs: Refs) -> Refs:
        return self.refs.encode(refs)

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
        return self._link_rows(self.edges.duplicate if duplicates else self.edges.link)

    def _link_rows(self, chosen: npt.NDArray[np.bool_]) -> list[LinkRow]:
        disclose = self.config.disclose_at
        out = []
        for e in np.nonzero(chosen)[0].tolist():
            a, b = sorted(
                (self._name(int(self.edges.left[e])), self._name(int(self.edges.right[e])))
            )
            score = float(self.edges.score[e])
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
        chosen = (self.edges.link | self.edges.duplicate) & np.isin(self.edges.left, nodes)
        return self._link_rows(chosen)

    def joined(self) -> list[LinkRow]:
        """Every pair that holds a cluster together: the links across agencies and the
        duplicates within one (an agency's two records of one person)."""
        return self._link_rows(self.edges.link | self.edges.duplicate)

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
        prepared = prepare_changes(self.refs, self.words, upserts, removals)
        self._seed_ids(clusters or {}, upserts)
        dead, old_size = self._apply_records(prepared, report, adopt, clusters or {})
        dead_nodes = np.concatenate(dead) if dead else np.empty(0, np.int64)
        touched = [dead_nodes]
        if len(dead_nodes) and len(self.edges.left):
            drop = np.isin(self.edges.left, dead_nodes) | np.isin(self.edges.right, dead_nodes)
            report.pairs_removed = int(drop.sum())
            touched += [self.edges.left[drop], self.edges.right[drop]]
            self.edges.keep(~drop)
        left, right, scores = score_new_rows(
            self.agencies,
            self.config,
            old_size,
            kernel=kernel,
            executor=executor,
            report=report,
            progress=progress,
        )
        touched += [left, right]
        for index, first in old_size.items():
            rec = self.agencies[index]
            touched.append((index << _ROW_BITS) | np.arange(first, rec.size, dtype=np.int64))
        self.edges.add(left, right, scores)
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
        prepared = prepare_changes(self.refs, self.words, upserts, {})
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
            self.edges.add(
                (self._index[x] << _ROW_BITS) | found.left[hit],
                (self._index[y] << _ROW_BITS) | found.right[hit],
                found.scores[hit],
            )
        report.pairs_added = len(self.edges.left)
        # Records with no pair and no earlier cluster stay alone: only the rest are solved.
        seeded = [
            (index << _ROW_BITS) | np.flatnonzero(rec.cluster[: rec.size]).astype(np.int64)
            for index, rec in enumerate(self.agencies)
        ]
        self._resolve(
            np.unique(np.concatenate([self.edges.left, self.edges.right, *seeded])), report
        )
        release_free_memory()
        report.seconds = time.perf_counter() - started
        return report

    def _resolve(self, touched: npt.NDArray[np.int64], report: UpdateReport) -> None:
        """Re-solve the components holding `touched` and give their clusters ids."""
        touched = touched[gather(self.agencies, touched, "alive")]
        if len(touched):
            # Records with no pair and no cluster stay alone: nothing to solve for them.
            clustered = gather(self.agencies, touched, "cluster") > 0
            at = self.edges.touching(touched)  # `touched` is sorted and unique
            paired = np.isin(touched, np.concatenate([self.edges.left[at], self.edges.right[at]]))
            touched = touched[clustered | paired]
            del clustered, at, paired
        component = self.edges.component(touched)
        del touched  # the big steps below hold only what they need
        self.last_resolved = component
        report.records_resolved = len(component)
        if len(component) == 0:
            return
        edges = self.edges.touching(component)
        # An agency's own two records join only at the disclosure bar (threshold plus the
        # review margin): nothing else stops a pair of one agency's strangers, and such a
        # join would make everything linked to either one person.
        own = (self.edges.left[edges] >> _ROW_BITS) == (self.edges.right[edges] >> _ROW_BITS)
        weak = own & (self.edges.score[edges] < self.config.disclose_at)
        self.edges.link[edges[weak]] = False
        self.edges.duplicate[edges[weak]] = False
        edges = edges[~weak]
        old = gather(self.agencies, component, "cluster")  # parallel to `component`
        set_clusters(self.agencies, component, 0)
        previous = np.unique(old[old > 0])
        if len(edges) == 0:
            report.clusters_dissolved += len(previous)
            return
        left, right = self.edges.left[edges], self.edges.right[edges]
        nodes = np.unique(np.concatenate([left, right]))
        order = rank(self.agencies, nodes)
        result = greedy(left, right, self.edges.score[edges], agency=nodes >> _ROW_BITS, rank=order)
        del left, right, nodes, order
        self.edges.link[edges] = result.link
        self.edges.duplicate[edges] = result.duplicate
        # Groups of two or more, as members sorted by root and a group number per member.
        by_root = np.argsort(result.root, kind="stable")
        roots = result.root[by_root]
        _, group, sizes = np.unique(roots, return_inverse=True, return_counts=True)
        keep = sizes[group] > 1
        members, group = result.nodes[by_root][keep], group[keep]
        _, group = np.unique(group, return_inverse=True)
        used = self._assign_ids(members, group, old[np.searchsorted(component, members)], report)
        report.clusters_dissolved += len(np.setdiff1d(previous, used))

    def _assign_ids(
        self,
        members: npt.NDArray[np.int64],
        group: npt.NDArray[np.int64],
        old: npt.NDArray[np.int64],
        report: UpdateReport,
    ) -> npt.NDArray[np.int64]:
        """Give each group its id (`cluster_ids.assign_ids`) and its members that id;
        returns the old ids kept."""
        count = int(group.max()) + 1 if len(group) else 0
        if count == 0:
            return np.empty(0, np.int64)
        firsts = np.full(count, np.iinfo(np.int64).max)
        np.minimum.at(firsts, group, rank(self.agencies, members))
        assigned = assign_ids(group, old, firsts, self.next_cluster)
        self.next_cluster = assigned.next_id
        report.clusters_created += assigned.created
        set_clusters(self.agencies, members, assigned.ids[group])
        return assigned.kept

    def _compact_if_sparse(self) -> None:
        """Drop dead rows once they are a fifth of an agency's rows."""
        for index, rec in enumerate(self.agencies):
            remap = rec.compact()
            if remap is not None:
                self.edges.renumber(index, remap)
