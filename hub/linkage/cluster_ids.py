"""Stable cluster ids, as a pure function: a re-solved cluster keeps the id of the old
cluster it shares most records with, so a case manager's "shared" client keeps its
cluster across runs unless its membership really changed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class IdAssignment:
    """Each group's id, the old ids kept, and the next id free."""

    ids: Ints  # per group
    kept: Ints  # old ids reused, sorted
    created: int
    next_id: int


def assign_ids(group: Ints, old: Ints, first_rank: Ints, next_id: int) -> IdAssignment:
    """Ids for groups (`group`: each member's group number; `old`: each member's old
    cluster id, 0 for none; `first_rank`: each group's first member in the order of
    (agency, reference)). Each group takes the old id it shares most members with (ties:
    the smaller id, then the group whose first member comes first), each old id at most
    once; the rest get new ids from `next_id`, in the order of their first members."""
    count = len(first_rank)
    position = np.empty(count, np.int64)
    position[np.argsort(first_rank, kind="stable")] = np.arange(count)
    had = old > 0
    pairs, shared = np.unique(np.stack([group[had], old[had]], axis=1), axis=0, return_counts=True)
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
    ids[fresh] = np.arange(next_id, next_id + len(fresh))
    return IdAssignment(
        ids=ids,
        kept=np.array(sorted(taken), np.int64),
        created=len(fresh),
        next_id=next_id + len(fresh),
    )
