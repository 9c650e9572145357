"""glibc memory tuning for a long-lived process that builds and frees big arrays: fixed
mmap threshold, and freed memory handed back after each big step."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from typing import Any

_M_MMAP_THRESHOLD = -3


@cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def keep_big_arrays_out_of_the_heap() -> None:
    """Fix glibc's mmap threshold at 1 MiB. Left dynamic, it rises to the largest block
    freed so far, after which every big array lands in the heap and the heap keeps the
    peak of the busiest step for the life of the process. (At the 128 KiB default, the
    many chunk-sized arrays of scoring each cost an mmap, and linking is much slower.)"""
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)


def release_free_memory() -> None:
    """Hand memory freed by a big step back to the system (glibc keeps it otherwise,
    and the next step's peak lands on top of it)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
