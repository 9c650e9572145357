from __future__ import annotations

import random

from hub.linkage.solving import solve


def test_one_person_per_agency_per_cluster_best_pairs_first() -> None:
    pairs = [
        (0.95, ("A", "a1"), ("B", "b1")),
        (0.90, ("A", "a2"), ("B", "b1")),  # b1 is taken by a better pair
        (0.85, ("B", "b1"), ("C", "c1")),
        (0.80, ("A", "a2"), ("C", "c1")),  # c1's cluster already holds an A record
        (0.99, ("A", "a3"), ("A", "a4")),  # same agency: a duplicate, not a link
    ]
    solution = solve(pairs, threshold=0.8)
    # a3 and a4 are one person recorded twice by A: they form a cluster of their own.
    assert solution.clusters == [
        (("A", "a1"), ("B", "b1"), ("C", "c1")),
        (("A", "a3"), ("A", "a4")),
    ]
    assert [(link.a, link.b, link.score) for link in solution.links] == [
        (("A", "a1"), ("B", "b1"), 0.95),
        (("B", "b1"), ("C", "c1"), 0.85),
    ]
    assert [(d.a, d.b) for d in solution.duplicates] == [(("A", "a3"), ("A", "a4"))]


def test_an_agencys_own_duplicates_join_the_cluster_of_the_person() -> None:
    """A person held twice by A (two case numbers) and once by B and C: both A records
    join, and B and C link to the pair as to one A record (the case the one-record-per-
    agency rule used to leave out)."""
    pairs = [
        (0.97, ("A", "a1"), ("A", "a2")),  # A's two records of the person
        (0.95, ("A", "a1"), ("B", "b1")),
        (0.90, ("A", "a2"), ("C", "c1")),  # reaches the person through the duplicate
        (0.88, ("A", "a9"), ("B", "b1")),  # another A record: b1 is taken
    ]
    for native in (True, False):
        solution = solve(pairs, threshold=0.8, native=native)
        assert solution.clusters == [(("A", "a1"), ("A", "a2"), ("B", "b1"), ("C", "c1"))]
        assert [(d.a, d.b) for d in solution.duplicates] == [(("A", "a1"), ("A", "a2"))]
        assert [(x.a, x.b) for x in solution.links] == [
            (("A", "a1"), ("B", "b1")),
            (("A", "a2"), ("C", "c1")),
        ]


def test_result_does_not_depend_on_input_order_even_with_ties() -> None:
    rng = random.Random(4)
    pairs = [
        (
            rng.choice([0.8, 0.85, 0.9]),
            (rng.choice("ABC"), f"r{rng.randrange(30)}"),
            (rng.choice("ABC"), f"r{rng.randrange(30)}"),
        )
        for _ in range(300)
    ]
    expected = solve(pairs, threshold=0.8)
    for _ in range(5):
        rng.shuffle(pairs)
        flipped = [(s, b, a) for s, a, b in pairs]
        assert solve(flipped, threshold=0.8).clusters == expected.clusters


def test_pairs_below_the_threshold_are_ignored() -> None:
    assert solve([(0.7, ("A", "x"), ("B", "y"))], threshold=0.75).clusters == []


def test_the_native_loop_solves_exactly_as_the_python_loop() -> None:
    import numpy as np

    from hub.linkage.kernel import _LIBRARY
    from hub.linkage.solving import greedy

    assert _LIBRARY.exists(), "make setup builds the native kernel"
    rng = np.random.default_rng(5)
    for _ in range(20):
        nodes = 300
        left = rng.integers(0, nodes, 900)
        right = rng.integers(0, nodes, 900)
        scores = rng.choice([0.8, 0.85, 0.9, 0.95, 1.0], 900)
        distinct = np.unique(np.concatenate([left, right]))
        agency = rng.integers(0, 4, len(distinct))
        rank = rng.permutation(len(distinct))
        fast = greedy(left, right, scores, agency=agency, rank=rank)
        slow = greedy(left, right, scores, agency=agency, rank=rank, native=False)
        assert np.array_equal(fast.link, slow.link)
        assert np.array_equal(fast.duplicate, slow.duplicate)
        assert {frozenset(g.tolist()) for g in fast.groups()} == {
            frozenset(g.tolist()) for g in slow.groups()
        }
        assert fast.link.any()
