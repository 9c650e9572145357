"""Candidate pairs from the encodings themselves: bit-sampling LSH (no extra PII leaves
an agency; the hub sees nothing but CLKs).

Each band samples `bits` positions of the CLK; two records are candidates when they agree
on every sampled bit of at least one band. Two CLKs of the same person differ in few bits
(Dice 0.9 means about 9 in 10 of the sampled bits agree), two strangers in about half, so
`bands` x `bits` trades recall for work. Positions are drawn, with a fixed seed, from bits
that are neither almost always nor almost never set, so keys are informative and the
same data gives the same bands every time.

Candidates are scored band by band and only pairs at or above the threshold are kept: a
full 200,000 x 200,000 run emits hundreds of millions of candidates, which are never held
at once.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hub.linkage.kernel import Kernel, Matrix, Pairs

_EMIT_CHUNK = 4_000_000


@dataclass(frozen=True)
class LshParams:
    """Band count, bits per band, and the seed that picks the bits."""

    bands: int = 80
    bits: int = 16
    seed: int = 20261123
    min_frequency: float = 0.15
    max_frequency: float = 0.85


@dataclass(frozen=True)
class BlockingReport:
    """How much work blocking saved, and what it missed, against all pairs."""

    comparisons: int
    candidates_scored: int
    reduction_ratio: float
    pair_completeness: float | None


def bit_frequencies(clks: Matrix) -> npt.NDArray[np.float64]:
    """How often each bit is set, numbering bit p as bit p % 64 of word p // 64."""
    sample = clks[: min(len(clks), 20_000)]
    if len(sample) == 0:
        return np.zeros(clks.shape[1] * 64)
    bits = (sample[:, :, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    freq: npt.NDArray[np.float64] = bits.mean(axis=0).reshape(-1)
    return freq


def sample_positions(clks: Matrix, params: LshParams) -> npt.NDArray[np.int64]:
    """`bands` x `bits` bit positions, drawn from informative bits of `clks`."""
    freq = bit_frequencies(clks)
    usable = np.nonzero((freq > params.min_frequency) & (freq < params.max_frequency))[0]
    if len(usable) < params.bits:
        usable = np.arange(clks.shape[1] * 64)
    rng = np.random.default_rng(params.seed)
    return np.stack([rng.choice(usable, params.bits, replace=False) for _ in range(params.bands)])


def _band_pairs(
    keys_a: npt.NDArray[np.uint32], keys_b: npt.NDArray[np.uint32], bits: int
) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """All (i, j) with keys_a[i] == keys_b[j], in chunks."""
    order = np.argsort(keys_b, kind="stable")
    if bits <= 22:
        # Counting: offsets[key] is where key's run starts in `order`.
        offsets = np.zeros((1 << bits) + 1, np.int64)
        np.cumsum(np.bincount(keys_b, minlength=1 << bits), out=offsets[1:])
        lo, hi = offsets[keys_a], offsets[keys_a.astype(np.int64) + 1]
    else:
        sorted_b = keys_b[order]
        lo = np.searchsorted(sorted_b, keys_a, "left")
        hi = np.searchsorted(sorted_b, keys_a, "right")
    counts = hi - lo
    cumulative = np.cumsum(counts)
    start_row = 0
    while start_row < len(keys_a):
        # Take rows until the chunk holds about _EMIT_CHUNK pairs.
        base = cumulative[start_row - 1] if start_row else 0
        end_row = int(np.searchsorted(cumulative, base + _EMIT_CHUNK, "right")) + 1
        end_row = min(max(end_row, start_row + 1), len(keys_a))
        n = counts[start_row:end_row]
        total = int(n.sum())
        if total:
            left = np.repeat(np.arange(start_row, end_row, dtype=np.int64), n)
            offsets_ = np.repeat(lo[start_row:end_row] - (np.cumsum(n) - n), n)
            right = order[np.arange(total, dtype=np.int64) + offsets_].astype(np.int64)
            yield left, right
        start_row = end_row


def lsh_pairs(
    kernel: Kernel,
    a: Matrix,
    b: Matrix,
    threshold: float,
    *,
    params: LshParams = LshParams(),
    positions: npt.NDArray[np.int64] | None = None,
    same: bool = False,
    threads: int | None = None,
) -> tuple[Pairs, BlockingReport]:
    """Pairs (a[i], b[j]) scoring at least `threshold` among LSH candidates, each once,
    sorted by (i, j), and what blocking saved. With `same`, a and b are one dataset and
    only i < j is kept."""
    if len(a) == 0 or len(b) == 0:
        return Pairs.empty(), BlockingReport(0, 0, 1.0, None)
    if positions is None:
        positions = sample_positions(np.concatenate([a, b]) if not same else a, params)
    keys_a, keys_b = kernel.band_keys(a, positions), kernel.band_keys(b, positions)
    pa, pb = kernel.popcounts(a), kernel.popcounts(b)
    threads = threads or os.cpu_count() or 1

    def score(chunk: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]) -> Pairs:
        left, right = chunk
        if same:
            keep = left < right
            left, right = left[keep], right[keep]
        scores = kernel.score_pairs(a, pa, b, pb, left, right)
        hit = scores >= threshold
        return Pairs(left[hit], right[hit], scores[hit])

    def chunks() -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        for band in range(len(positions)):
            yield from _band_pairs(
                np.ascontiguousarray(keys_a[:, band]),
                np.ascontiguousarray(keys_b[:, band]),
                positions.shape[1],
            )

    parts: list[Pairs] = []
    scored = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque[Future[Pairs]] = deque()
        for chunk in chunks():
            scored += len(chunk[0])
            pending.append(pool.submit(score, chunk))
            # At most two chunks per thread in flight: memory stays bounded.
            while len(pending) > 2 * threads:
                parts.append(pending.popleft().result())
        parts.extend(f.result() for f in pending)
    found = Pairs.concat(parts)
    if len(found):
        codes = found.left * len(b) + found.right
        _, first = np.unique(codes, return_index=True)
        found = Pairs(found.left[first], found.right[first], found.scores[first])
    comparisons = len(a) * (len(a) - 1) // 2 if same else len(a) * len(b)
    return found, BlockingReport(comparisons, scored, 1 - scored / max(1, comparisons), None)
