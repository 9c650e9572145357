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

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hub.linkage.kernel import Kernel, Matrix

_BAND_GROUP = 4
_EMIT_CHUNK = 1 << 16  # pairs per chunk: about 2 MB of work in flight per thread


@dataclass(frozen=True)
class LshParams:
    """Band count, bits per band, and the seed that picks the bits."""

    bands: int = 96
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
    # One shift at a time: all 64 at once would hold 512 bytes per sampled bit word.
    counts = np.zeros((clks.shape[1], 64), np.int64)
    for shift in range(64):
        counts[:, shift] = ((sample >> np.uint64(shift)) & np.uint64(1)).sum(axis=0)
    freq: npt.NDArray[np.float64] = (counts / len(sample)).reshape(-1)
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
    """All (i, j) with keys_a[i] == keys_b[j], in chunks of about _EMIT_CHUNK pairs."""
    rows_b = None
    if len(keys_a) * 8 < len(keys_b) and bits <= 24:
        # A few new records against many: look only at b's rows whose key a holds.
        present = np.zeros(1 << bits, bool)
        present[keys_a] = True
        rows_b = np.nonzero(present[keys_b])[0]
        keys_b = keys_b[rows_b]
    narrow = keys_b.astype(np.uint16) if bits <= 16 else keys_b
    order = np.argsort(narrow, kind="stable")  # a radix sort for 16-bit keys
    if bits <= 22:
        # Counting: offsets[key] is where key's run starts in `order`.
        # int32 where it fits: these arrays have one entry per record of a.
        offsets: npt.NDArray[np.signedinteger[Any]] = np.zeros(
            (1 << bits) + 1, np.int32 if len(keys_b) < 1 << 31 else np.int64
        )
        np.cumsum(np.bincount(keys_b, minlength=1 << bits), out=offsets[1:])
        lo, hi = offsets[keys_a], offsets[1:][keys_a]
    else:
        sorted_b = keys_b[order]
        lo = np.searchsorted(sorted_b, keys_a, "left")
        hi = np.searchsorted(sorted_b, keys_a, "right")
    if rows_b is not None:
        order = rows_b[order]
    counts = hi - lo
    del hi
    cumulative = np.cumsum(counts, dtype=np.int64)
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
            offsets_ = np.repeat(lo[start_row:end_row] - (np.cumsum(n, dtype=np.int64) - n), n)
            right = order[np.arange(total, dtype=np.int64) + offsets_].astype(np.int64)
            yield left, right
        start_row = end_row


def band_candidates(
    kernel: Kernel, a: Matrix, b: Matrix, positions: npt.NDArray[np.int64], *, same: bool = False
) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Candidate pairs (i, j), band by band, in chunks; a pair found by several bands comes
    once per band. With `same`, a and b are one dataset and only i < j comes back.

    Keys are computed for `_BAND_GROUP` bands per pass over the encodings: one band per
    pass reads every CLK once per band (memory-bound), all bands at once would hold 4
    bytes per band per record, more than the encodings themselves."""
    bits = positions.shape[1]
    for start in range(0, len(positions), _BAND_GROUP):
        group = np.ascontiguousarray(positions[start : start + _BAND_GROUP])
        keys_a = kernel.band_keys(a, group)
        keys_b = keys_a if same else kernel.band_keys(b, group)
        for band in range(len(group)):
            column_a = np.ascontiguousarray(keys_a[:, band])
            column_b = column_a if same else np.ascontiguousarray(keys_b[:, band])
            for left, right in _band_pairs(column_a, column_b, bits):
                upper = left < right if same else slice(None)
                if len(left[upper]):
                    yield left[upper], right[upper]
