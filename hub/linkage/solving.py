"""Clustering scored pairs into people: greedy, one person per agency per cluster.

An agency's own records scoring as one person (pairs within one agency, scored when the
run asks for them) join first: real rosters hold some people twice, under two case
numbers, and each such group then counts as one record of its agency. Cross-agency
pairs are then taken best first; two clusters merge through a pair unless that would put
two of one agency's people in one cluster. Ties are broken by the records' own identifiers, not
by load order, so the result is a function of the data alone. A pair's fate depends only
on the clusters of its two records, which lie in its connected component: solving each
component on its own gives what solving everything gives, which is how an incremental
update re-solves only the components it touched. The pairs that merged clusters are the
links; each keeps its score. Pairs within one agency are reported as duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from hub.linkage.kernel import NativeKernel, load_kernel

Node = tuple[str, str]  # (agency, record reference)


@dataclass(frozen=True)
class Greedy:
    """The solver's answer over edges: which were links, which duplicates, and each
    node's group (nodes of one group share a root)."""

    link: npt.NDArray[np.bool_]
    duplicate: npt.NDArray[np.bool_]
    nodes: npt.NDArray[np.int64]
    root: npt.NDArray[np.int64]

    def groups(self) -> list[npt.NDArray[np.int64]]:
        """Node ids of each group of two or more, in no particular order."""
        order = np.argsort(self.root, kind="stable")
        roots = self.root[order]
        cuts = np.nonzero(np.diff(roots))[0] + 1
        return [g for g in np.split(self.nodes[order], cuts) if len(g) > 1]


def greedy(
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float64],
    *,
    agency: npt.NDArray[np.int64],
    rank: npt.NDArray[np.int64],
    native: bool = True,
) -> Greedy:
    """Solve edges between node ids. `agency` and `rank` are arrays parallel to
    `nodes = unique(left, right)`: each node's agency index and its position in the order
    of (agency name, reference), which breaks ties between equal scores. The loop runs
    in C when the native kernel is built (`native=False` forces the Python loop)."""
    nodes, inverse = np.unique(np.concatenate([left, right]), return_inverse=True)
    if len(agency) != len(nodes) or len(rank) != len(nodes):
        raise ValueError("agency and rank must have one entry per distinct node")
    local_left, local_right = inverse[: len(left)], inverse[len(left) :]
    rank_left, rank_right = rank[local_left], rank[local_right]
    low = np.minimum(rank_left, rank_right)
    high = np.maximum(rank_left, rank_right)
    order = np.lexsort((high, low, -scores))
    del rank_left, rank_right, low, high
    kernel = _native() if native else None
    if kernel is not None and (len(agency) == 0 or int(agency.max()) < 64):
        root, link, duplicate = kernel.greedy(agency, local_left, local_right, order)
        return Greedy(link, duplicate, nodes, root)
    parent = list(range(len(nodes)))
    masks = [1 << int(a) for a in agency]
    link = np.zeros(len(left), bool)
    duplicate = np.zeros(len(left), bool)
    same_agency = agency[local_left] == agency[local_right]

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ll, rr, sa = local_left.tolist(), local_right.tolist(), same_agency.tolist()
    # First an agency's own records of one person join, best pair first; each group of
    # them then takes part in the cross-agency pass as one record of that agency.
    for within in (True, False):
        for e in order.tolist():
            if sa[e] != within:
                continue
            duplicate[e] = within
            ra, rb = find(ll[e]), find(rr[e])
            if ra == rb or (not within and masks[ra] & masks[rb]):
                continue
            ra, rb = min(ra, rb), max(ra, rb)
            parent[rb] = ra
            masks[ra] |= masks[rb]
            link[e] = not within
    root = np.fromiter((find(x) for x in range(len(nodes))), np.int64, len(nodes))
    return Greedy(link, duplicate, nodes, root)


@cache
def _native() -> NativeKernel | None:
    kernel = load_kernel()
    return kernel if isinstance(kernel, NativeKernel) else None


@dataclass(frozen=True)
class Link:
    """A pair the solver used to join two records."""

    a: Node
    b: Node
    score: float


@dataclass
class Solution:
    """Clusters (each a sorted tuple of nodes, two or more) and the links that made them."""

    clusters: list[tuple[Node, ...]]
    links: list[Link]
    duplicates: list[Link]


def solve(
    pairs: Iterable[tuple[float, Node, Node]], *, threshold: float, native: bool = True
) -> Solution:
    """Greedy clustering of named pairs scoring at least `threshold` (for small inputs
    and tests; the engine calls `greedy` on arrays)."""
    kept = [(s, a, b) for s, a, b in pairs if s >= threshold]
    names = sorted({n for _, a, b in kept for n in (a, b)})
    if not names:
        return Solution([], [], [])
    index = {n: i for i, n in enumerate(names)}
    agencies = {a: i for i, a in enumerate(sorted({n[0] for n in names}))}
    left = np.array([index[a] for _, a, _ in kept], np.int64)
    right = np.array([index[b] for _, _, b in kept], np.int64)
    scores = np.array([s for s, _, _ in kept], np.float64)
    # Node ids are ranks here, so `unique` returns them in rank order.
    nodes = np.unique(np.concatenate([left, right]))
    result = greedy(
        left,
        right,
        scores,
        agency=np.array([agencies[names[i][0]] for i in nodes], np.int64),
        rank=nodes,
        native=native,
    )

    def as_link(e: int) -> Link:
        a, b = sorted((names[left[e]], names[right[e]]))
        return Link(a, b, float(scores[e]))

    by_score = sorted(range(len(kept)), key=lambda e: (-scores[e], *sorted((left[e], right[e]))))
    groups = sorted(tuple(sorted(names[i] for i in g)) for g in result.groups())
    return Solution(
        groups,
        [as_link(e) for e in by_score if result.link[e]],
        [as_link(e) for e in by_score if result.duplicate[e]],
    )
