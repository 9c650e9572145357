"""Clustering scored pairs into people: greedy, one record per agency per cluster.

Pairs are taken best first; two clusters merge through a pair unless that would put two
records of one agency in one cluster. Ties are broken by the records' own identifiers, not
by load order, so the result is a function of the data alone: incremental updates and a
full re-link agree. The pairs that merged clusters are the links; each keeps its score.
Pairs within one agency, when asked for, are reported as possible duplicates instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Node = tuple[str, str]  # (agency, record reference)


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


class _Clusters:
    def __init__(self) -> None:
        self.parent: dict[Node, Node] = {}
        self.agencies: dict[Node, set[str]] = {}

    def find(self, node: Node) -> Node:
        parent = self.parent.setdefault(node, node)
        if parent == node:
            self.agencies.setdefault(node, {node[0]})
            return node
        root = self.find(parent)
        self.parent[node] = root
        return root

    def try_union(self, a: Node, b: Node) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb or self.agencies[ra] & self.agencies[rb]:
            return False
        if len(self.agencies[ra]) < len(self.agencies[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.agencies[ra] |= self.agencies.pop(rb)
        return True


def solve(pairs: Iterable[tuple[float, Node, Node]], *, threshold: float) -> Solution:
    """Greedy clustering of pairs scoring at least `threshold` (see the module notes)."""
    ordered = sorted(
        ((s, min(a, b), max(a, b)) for s, a, b in pairs if s >= threshold),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    clusters = _Clusters()
    links: list[Link] = []
    duplicates: list[Link] = []
    for score, a, b in ordered:
        if a[0] == b[0]:
            duplicates.append(Link(a, b, score))
        elif clusters.try_union(a, b):
            links.append(Link(a, b, score))
    members: dict[Node, list[Node]] = {}
    for node in clusters.parent:
        members.setdefault(clusters.find(node), []).append(node)
    groups = sorted(tuple(sorted(m)) for m in members.values() if len(m) > 1)
    return Solution(groups, links, duplicates)
