"""Cluster ids as a pure function: old ids follow the most of their records, each once,
and new clusters are numbered in the order of their first records."""

from __future__ import annotations

import numpy as np

from hub.linkage.cluster_ids import assign_ids


def _ids(group: list[int], old: list[int], first_rank: list[int], next_id: int = 10) -> list[int]:
    done = assign_ids(np.array(group), np.array(old), np.array(first_rank), next_id)
    return [int(x) for x in done.ids]


def test_a_group_keeps_the_old_id_most_of_its_members_had() -> None:
    # Group 0 holds two records of old cluster 5 and one of 7; group 1 one record of 7.
    assert _ids([0, 0, 0, 1], [5, 5, 7, 7], [0, 1]) == [5, 7]


def test_an_old_id_goes_to_one_group_only_and_the_rest_are_new_in_first_record_order() -> None:
    # A cluster split in two: the bigger half keeps 5; the other half and a brand-new
    # group get fresh ids, the one whose first record comes first getting the lower.
    done = assign_ids(np.array([0, 0, 1, 2]), np.array([5, 5, 5, 0]), np.array([2, 1, 0]), 10)
    assert done.ids.tolist() == [5, 11, 10]
    assert (done.kept.tolist(), done.created, done.next_id) == ([5], 2, 12)


def test_a_tie_goes_to_the_smaller_old_id() -> None:
    assert _ids([0, 0], [8, 6], [0]) == [6]
