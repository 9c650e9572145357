"""Every scoring path gives exactly anonlink's pairs and scores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from anonlink.similarities import dice_coefficient_accelerated
from bitarray import bitarray

from hub.linkage.kernel import _LIBRARY, Kernel, NativeKernel, as_matrix, load_kernel

KERNELS = [pytest.param(Kernel, id="numpy")]
if _LIBRARY.exists():
    # Every path this CPU can run, each capped explicitly.
    KERNELS += [
        pytest.param(lambda level=level: NativeKernel(simd=level), id=f"native-{name}")
        for level, name in enumerate(NativeKernel.PATHS[: NativeKernel.available_paths() + 1])
    ]


def _clks(rng: np.random.Generator, n: int, bits: int, density: float) -> list[bytes]:
    return [np.packbits(rng.random(bits) < density).tobytes() for _ in range(n)]


def _anonlink(a: list[bytes], b: list[bytes], threshold: float) -> dict[tuple[int, int], float]:
    def ba(data: bytes) -> bitarray:
        x = bitarray()
        x.frombytes(data)
        return x

    sims, (left, right) = dice_coefficient_accelerated(
        [[ba(x) for x in a], [ba(x) for x in b]], threshold=threshold
    )
    return {(int(i), int(j)): float(s) for s, i, j in zip(sims, left, right, strict=True)}


@pytest.mark.parametrize("make", KERNELS)
@pytest.mark.parametrize("bits", [512, 1024, 2048])
@pytest.mark.parametrize("threshold", [0.0, 0.55, 0.8, 1.0])
def test_all_pairs_equal_anonlink(make: Callable[[], Any], bits: int, threshold: float) -> None:
    rng = np.random.default_rng(bits + int(threshold * 100))
    a = _clks(rng, 150, bits, 0.5)
    b = [bytes(bits // 8), *a[:60], *_clks(rng, 90, bits, 0.45)]  # an empty CLK, exact copies
    b[1] = bytes(x ^ 1 for x in b[1])  # a near copy
    kernel = make()
    pairs = kernel.all_pairs(as_matrix(a, bits // 8), as_matrix(b, bits // 8), threshold, threads=2)
    ours = {
        (int(i), int(j)): float(s)
        for i, j, s in zip(pairs.left, pairs.right, pairs.scores, strict=True)
    }
    assert ours == _anonlink(a, b, threshold)
    assert list(zip(pairs.left, pairs.right, strict=True)) == sorted(
        zip(pairs.left, pairs.right, strict=True)
    )


@pytest.mark.parametrize("make", KERNELS)
def test_listed_pairs_score_as_all_pairs(make: Callable[[], Any]) -> None:
    rng = np.random.default_rng(5)
    a, b = as_matrix(_clks(rng, 80, 1024, 0.5)), as_matrix(_clks(rng, 70, 1024, 0.5))
    kernel = make()
    everything = kernel.all_pairs(a, b, 0.0)
    scores = kernel.score_pairs(
        a, kernel.popcounts(a), b, kernel.popcounts(b), everything.left, everything.right
    )
    assert np.array_equal(scores, everything.scores)


def test_the_native_kernel_is_built_by_make_setup() -> None:
    # make test builds it; a missing kernel would silently fall back to NumPy.
    assert _LIBRARY.exists()
    assert load_kernel().name in NativeKernel.PATHS


@pytest.mark.parametrize("make", KERNELS)
@pytest.mark.parametrize("threshold", [0.55, 0.8])
def test_popcount_prefilter_and_strips_keep_every_qualifying_pair(
    make: Callable[[], Any], threshold: float
) -> None:
    # Densities from 5% to 95% make the popcount bound rule out many pairs; 700 columns
    # cross the kernels' 256-column strips and leave ragged groups of four.
    rng = np.random.default_rng(7)
    a = [c for d in (0.05, 0.3, 0.5, 0.7, 0.95) for c in _clks(rng, 12, 1024, d)]
    b = [c for d in np.linspace(0.05, 0.95, 7) for c in _clks(rng, 100, 1024, float(d))]
    b[:60] = a
    kernel = make()
    pairs = kernel.all_pairs(as_matrix(a), as_matrix(b), threshold, threads=1)
    ours = {
        (int(i), int(j)): float(s)
        for i, j, s in zip(pairs.left, pairs.right, pairs.scores, strict=True)
    }
    reference = _anonlink(a, b, threshold)
    assert len(reference) > 60
    assert ours == reference
