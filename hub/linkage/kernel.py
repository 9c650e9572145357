"""Dice scoring of CLKs: the native kernel (`_kernel.c`, built by `make setup`) when it is
there, NumPy otherwise. Every path gives the scores anonlink gives, bit for bit.

Encodings are held as a C-contiguous `uint64` matrix, one row per CLK (the bytes of
clkhash's `bitarray.tobytes()`, reinterpreted; the popcount of an AND does not depend on
word order). ctypes releases the GIL during a call, so blocks run on threads in parallel.
"""

from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.uint64]
_LIBRARY = Path(__file__).with_name("_pprl_kernel.so")
_ROW_BLOCK = 256


def as_matrix(clks: list[bytes] | bytes, clk_bytes: int = 128) -> Matrix:
    """CLK bytes (a list, or one concatenation) as a row-per-CLK uint64 matrix."""
    data = b"".join(clks) if isinstance(clks, list) else clks
    if clk_bytes % 8 or len(data) % clk_bytes:
        raise ValueError("CLKs must be whole 64-bit words and all the same length")
    return np.frombuffer(data, dtype=np.uint64).reshape(-1, clk_bytes // 8).copy()


@dataclass(frozen=True)
class Pairs:
    """Scored pairs: row indices into the two matrices and their Dice scores."""

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def empty(cls) -> Pairs:
        """No pairs."""
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))

    @classmethod
    def concat(cls, parts: list[Pairs]) -> Pairs:
        """All of `parts`, in order."""
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.left for p in parts]),
            np.concatenate([p.right for p in parts]),
            np.concatenate([p.scores for p in parts]),
        )


class Kernel:
    """One scoring implementation."""

    name = "numpy"

    def popcounts(self, clks: Matrix) -> npt.NDArray[np.uint32]:
        """Set bits per CLK."""
        counts: npt.NDArray[np.uint32] = np.bitwise_count(clks).sum(axis=1, dtype=np.uint32)
        return counts

    def score_pairs(  # noqa: PLR0917  (two matrices, their popcounts, two index arrays)
        self,
        a: Matrix,
        pa: npt.NDArray[np.uint32],
        b: Matrix,
        pb: npt.NDArray[np.uint32],
        left: npt.NDArray[np.int64],
        right: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.float64]:
        """Scores of the listed pairs."""
        both = np.bitwise_count(a[left] & b[right]).sum(axis=1, dtype=np.uint32)
        return _dice(both, pa[left], pb[right])

    def block(
        self,
        a: Matrix,
        pa: npt.NDArray[np.uint32],
        b: Matrix,
        pb: npt.NDArray[np.uint32],
        threshold: float,
    ) -> Pairs:
        """All pairs of one block scoring at least `threshold`, row-major."""
        parts = []
        for start in range(0, len(b), _ROW_BLOCK * 4):
            chunk = b[start : start + _ROW_BLOCK * 4]
            both = np.bitwise_count(a[:, None, :] & chunk[None, :, :]).sum(axis=2, dtype=np.uint32)
            scores = _dice(both, pa[:, None], pb[None, start : start + len(chunk)])
            i, j = np.nonzero(scores >= threshold)
            parts.append(Pairs(i.astype(np.int64), j.astype(np.int64) + start, scores[i, j]))
        merged = Pairs.concat(parts)
        order = np.lexsort((merged.right, merged.left))
        return Pairs(merged.left[order], merged.right[order], merged.scores[order])

    def band_keys(self, clks: Matrix, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
        """LSH keys, shape (records, bands): bit t of band k's key is bit positions[k, t]
        of the CLK, numbering bit p as bit p % 64 of 64-bit word p // 64."""
        keys = np.zeros((len(clks), len(positions)), np.uint32)
        for band, pos in enumerate(positions):
            for t, p in enumerate(pos):
                keys[:, band] |= (
                    ((clks[:, p // 64] >> np.uint64(p % 64)) & np.uint64(1)).astype(np.uint32)
                ) << np.uint32(t)
        return keys

    def all_pairs(
        self, a: Matrix, b: Matrix, threshold: float, *, threads: int | None = None
    ) -> Pairs:
        """Every pair (a[i], b[j]) scoring at least `threshold`, sorted by (i, j)."""
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        pa, pb = self.popcounts(a), self.popcounts(b)
        starts = range(0, len(a), _ROW_BLOCK)
        threads = threads or os.cpu_count() or 1

        def run(start: int) -> Pairs:
            part = self.block(
                a[start : start + _ROW_BLOCK], pa[start : start + _ROW_BLOCK], b, pb, threshold
            )
            return Pairs(part.left + start, part.right, part.scores)

        if threads == 1:
            return Pairs.concat([run(s) for s in starts])
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return Pairs.concat(list(pool.map(run, starts)))


def _dice(
    both: npt.NDArray[np.uint32], pa: npt.NDArray[np.uint32], pb: npt.NDArray[np.uint32]
) -> npt.NDArray[np.float64]:
    # anonlink: (2 * uv_popc) / (double)(u_popc + v_popc), in uint32 then double.
    total = (pa.astype(np.uint32) + pb.astype(np.uint32)).astype(np.float64)
    numerator = (2 * both.astype(np.uint32)).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total == 0, 0.0, numerator / np.where(total == 0, 1.0, total))


_U64 = np.ctypeslib.ndpointer(np.uint64, flags="C_CONTIGUOUS")
_U32 = np.ctypeslib.ndpointer(np.uint32, flags="C_CONTIGUOUS")
_I64 = np.ctypeslib.ndpointer(np.int64, flags="C_CONTIGUOUS")
_F64 = np.ctypeslib.ndpointer(np.float64, flags="C_CONTIGUOUS")
_I32 = np.ctypeslib.ndpointer(np.int32, flags="C_CONTIGUOUS")
_U8 = np.ctypeslib.ndpointer(np.uint8, flags="C_CONTIGUOUS")


class NativeKernel(Kernel):
    """The C kernel: AVX-512 VPOPCNTDQ or AVX2 where the CPU has them, else scalar POPCNT.

    `simd` caps the path: True for the widest available, False (or 0) for scalar, 1 for
    at most AVX2 (tests use the caps to check every path the CPU can run)."""

    PATHS = ("popcnt", "avx2", "avx512-vpopcntdq")

    def __init__(self, library: Path = _LIBRARY, *, simd: bool | int = True) -> None:
        lib = ctypes.CDLL(str(library))
        lib.pprl_simd.restype = ctypes.c_int32
        lib.pprl_popcounts.argtypes = [_U64, ctypes.c_int64, ctypes.c_int32, _U32]
        lib.pprl_dice_block.restype = ctypes.c_int64
        lib.pprl_dice_block.argtypes = [
            _U64,
            _U32,
            ctypes.c_int64,
            _U64,
            _U32,
            ctypes.c_int64,
            ctypes.c_int32,
            ctypes.c_double,
            ctypes.c_int32,
            _I64,
            _I64,
            _F64,
            ctypes.c_int64,
        ]
        lib.pprl_dice_pairs.argtypes = [
            _U64,
            _U32,
            _U64,
            _U32,
            _I64,
            _I64,
            ctypes.c_int64,
            ctypes.c_int32,
            ctypes.c_int32,
            _F64,
        ]
        lib.pprl_band_keys.argtypes = [
            _U64,
            ctypes.c_int64,
            ctypes.c_int32,
            _I32,
            _I32,
            ctypes.c_int32,
            ctypes.c_int32,
            _U32,
        ]
        lib.pprl_greedy.argtypes = [
            ctypes.c_int64,
            _U64,
            ctypes.c_int64,
            _I64,
            _I64,
            _I64,
            _I64,
            _U64,
            _U8,
            _U8,
        ]
        self._lib = lib
        best = int(lib.pprl_simd())
        self._simd = best if simd is True else min(best, int(simd))
        self.name = self.PATHS[self._simd]

    @staticmethod
    def available_paths(library: Path = _LIBRARY) -> int:
        """How many SIMD levels this CPU runs (0: scalar only, 1: AVX2, 2: AVX-512)."""
        lib = ctypes.CDLL(str(library))
        lib.pprl_simd.restype = ctypes.c_int32
        return int(lib.pprl_simd())

    def popcounts(self, clks: Matrix) -> npt.NDArray[np.uint32]:
        """Set bits per CLK."""
        clks = np.ascontiguousarray(clks)
        out = np.empty(len(clks), np.uint32)
        self._lib.pprl_popcounts(clks, len(clks), clks.shape[1], out)
        return out

    def band_keys(self, clks: Matrix, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
        """LSH keys (see Kernel.band_keys), computed in C."""
        clks = np.ascontiguousarray(clks)
        word = np.ascontiguousarray((positions // 64).astype(np.int32))
        shift = np.ascontiguousarray((positions % 64).astype(np.int32))
        out = np.empty((len(clks), len(positions)), np.uint32)
        self._lib.pprl_band_keys(
            clks, len(clks), clks.shape[1], word, shift, len(positions), positions.shape[1], out
        )
        return out

    def score_pairs(  # noqa: PLR0917  (two matrices, their popcounts, two index arrays)
        self,
        a: Matrix,
        pa: npt.NDArray[np.uint32],
        b: Matrix,
        pb: npt.NDArray[np.uint32],
        left: npt.NDArray[np.int64],
        right: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.float64]:
        """Scores of the listed pairs."""
        left = np.ascontiguousarray(left, np.int64)
        right = np.ascontiguousarray(right, np.int64)
        out = np.empty(len(left), np.float64)
        self._lib.pprl_dice_pairs(a, pa, b, pb, left, right, len(left), a.shape[1], self._simd, out)
        return out

    def block(
        self,
        a: Matrix,
        pa: npt.NDArray[np.uint32],
        b: Matrix,
        pb: npt.NDArray[np.uint32],
        threshold: float,
    ) -> Pairs:
        """All pairs of one block scoring at least `threshold`, row-major."""
        a = np.ascontiguousarray(a)
        pa = np.ascontiguousarray(pa)
        capacity = max(1024, 4 * len(a))
        while True:
            i = np.empty(capacity, np.int64)
            j = np.empty(capacity, np.int64)
            s = np.empty(capacity, np.float64)
            found = self._lib.pprl_dice_block(
                a, pa, len(a), b, pb, len(b), a.shape[1], threshold, self._simd, i, j, s, capacity
            )
            if found >= 0:
                return Pairs(i[:found], j[:found], s[:found])
            capacity *= 4

    def greedy(
        self,
        agency: npt.NDArray[np.int64],
        left: npt.NDArray[np.int64],
        right: npt.NDArray[np.int64],
        order: npt.NDArray[np.int64],
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """The solver's loop in C (agency indices below 64): roots, links, duplicates."""
        n = len(agency)
        masks = np.left_shift(np.uint64(1), agency.astype(np.uint64))
        parent = np.empty(n, np.int64)
        link = np.zeros(len(left), np.uint8)
        duplicate = np.zeros(len(left), np.uint8)
        self._lib.pprl_greedy(
            n,
            np.ascontiguousarray(masks),
            len(left),
            np.ascontiguousarray(left, np.int64),
            np.ascontiguousarray(right, np.int64),
            np.ascontiguousarray(order, np.int64),
            parent,
            np.empty(n, np.uint64),
            link,
            duplicate,
        )
        return parent, link.view(bool), duplicate.view(bool)


def load_kernel() -> Kernel:
    """The native kernel when it is built, else the NumPy one."""
    if _LIBRARY.exists():
        return NativeKernel()
    return Kernel()
