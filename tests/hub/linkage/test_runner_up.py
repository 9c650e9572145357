"""Second-best scores: another partner's, never a pair's own repeat; large sides sampled."""

from __future__ import annotations

import numpy as np

from hub.linkage.runner_up import sampled_rows, second_best


def test_the_second_best_is_another_partners_score() -> None:
    left = np.array([0, 0, 1, 0, 2], np.int64)
    scores = np.array([0.6, 0.9, 0.7, 0.65, 0.8])
    assert second_best(left, scores, 4).tolist() == [0.65, -1.0, -1.0, -1.0]


def test_a_large_side_is_sampled_every_kth_record() -> None:
    assert sampled_rows(10, 5).tolist() == [0, 2, 4, 6, 8]
    assert sampled_rows(4, 5).tolist() == [0, 1, 2, 3]
