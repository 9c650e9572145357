"""Record references in a linkage state: fixed-width byte arrays, never a Python string
per record. Node references (64 lowercase hex digits) are held as their 32 raw bytes,
half the memory; offline files may use any text, kept as is. One state never mixes them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from hub.failures import HubError

Refs = npt.NDArray[np.bytes_]
RAW_REF = np.dtype("V32")  # a node reference's 32 bytes: sortable, never trimmed


class StateError(HubError, ValueError):
    """An update that cannot be applied as given (nothing was changed)."""


def is_hex64(refs: Refs) -> bool:
    """Every entry is exactly 64 lowercase hex digits."""
    data = refs.tobytes()
    return len(data) == 64 * len(refs) and re.fullmatch(rb"[0-9a-f]*", data) is not None


def raw_refs(refs: Refs) -> Refs:
    """64-hex references (an S64 array) as RAW_REF."""
    return np.frombuffer(bytes.fromhex(refs.tobytes().decode("ascii")), RAW_REF).copy()


def as_refs(refs: Sequence[str] | Refs) -> Refs:
    """References as a fixed-width bytes array (compact: no Python string per record)."""
    if isinstance(refs, np.ndarray) and (refs.dtype.kind == "S" or refs.dtype == RAW_REF):
        return refs
    encoded = [r.encode("utf-8") for r in refs]
    width = max((len(r) for r in encoded), default=1)
    return np.array(encoded, dtype=f"S{max(1, width)}")


class RefCodec:
    """How one state holds references: decided by the first it sees, then enforced."""

    def __init__(self) -> None:
        # True once references are 64-hex digests, held as their 32 raw bytes.
        self.hex_refs: bool | None = None

    def encode(self, refs: Refs) -> Refs:
        """References as the state holds them (raw bytes for node references)."""
        if len(refs) == 0:
            return np.empty(0, RAW_REF) if self.hex_refs else refs
        raw = refs.dtype == RAW_REF
        hexadecimal = raw or (refs.dtype.itemsize == 64 and is_hex64(refs))
        if self.hex_refs is None:
            self.hex_refs = hexadecimal
        if not self.hex_refs:
            if raw:
                raise StateError("raw references given to a state of text references")
            return refs
        if not hexadecimal:
            raise StateError("references must all be 64 lowercase hex digits, as the first were")
        return refs if raw else raw_refs(refs)

    def text(self, ref: bytes) -> str:
        """A stored reference as the agency wrote it."""
        return bytes(ref).hex() if self.hex_refs else bytes(ref).decode()
