from __future__ import annotations

import numpy as np

from hub.linkage.blocking import LshParams, sample_positions
from hub.linkage.kernel import Kernel, NativeKernel, as_matrix, load_kernel
from hub.linkage.scoring import Candidates, score_between


def _population(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.random((n, 1024)) < 0.45
    noisy = base ^ (rng.random(base.shape) < 0.04)  # near copies
    noisy[n // 2 :] = rng.random((n - n // 2, 1024)) < 0.45  # and strangers
    return _pack(base), _pack(noisy)


def _pack(bits: np.ndarray) -> np.ndarray:
    return as_matrix([np.packbits(row).tobytes() for row in bits])


def test_band_keys_agree_between_c_and_numpy() -> None:
    a, _ = _population(1, 500)
    positions = sample_positions(a, LshParams(bands=12, bits=16))
    assert np.array_equal(NativeKernel().band_keys(a, positions), Kernel().band_keys(a, positions))


def test_lsh_pairs_are_all_pairs_pairs_with_the_same_scores_and_miss_almost_none() -> None:
    a, b = _population(2, 2000)
    kernel = load_kernel()
    exact = kernel.all_pairs(a, b, 0.8)
    found, report = score_between(
        a, b, 0.8, candidates=Candidates.lsh(a, LshParams(bands=40, bits=16)), kernel=kernel
    )
    exact_map = dict(
        zip(
            zip(exact.left.tolist(), exact.right.tolist(), strict=True),
            exact.scores.tolist(),
            strict=True,
        )
    )
    found_map = dict(
        zip(
            zip(found.left.tolist(), found.right.tolist(), strict=True),
            found.scores.tolist(),
            strict=True,
        )
    )
    assert set(found_map) <= set(exact_map)
    assert all(exact_map[k] == v for k, v in found_map.items())
    assert len(found_map) >= 0.995 * len(exact_map)
    assert report.reduction_ratio > 0.9
    assert report.comparisons == 2000 * 2000


def test_within_one_dataset_only_ordered_pairs_come_back() -> None:
    a, _ = _population(3, 800)
    doubled = np.concatenate([a, a])
    found, _ = score_between(doubled, doubled, 0.99, candidates=Candidates.lsh(a), same=True)
    assert np.all(found.left < found.right)
    assert set(zip(found.left.tolist(), found.right.tolist(), strict=True)) >= {
        (i, i + 800) for i in range(800)
    }
