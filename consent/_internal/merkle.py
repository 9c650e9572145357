"""RFC 9162 section 2.1: Merkle tree hashing, inclusion and consistency proofs.

Leaf hash `SHA-256(0x00 || leaf)`, node hash `SHA-256(0x01 || left || right)`, and the
empty tree's root `SHA-256("")`. The distinct prefixes keep a leaf from ever being
mistaken for an interior node (second-preimage attacks on the tree).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF = b"\x00"
_NODE = b"\x01"


class ProofError(ValueError):
    """A proof does not verify, or its inputs are malformed. The message says which."""


def leaf_hash(leaf: bytes) -> bytes:
    """MTH of a one-leaf tree."""
    return hashlib.sha256(_LEAF + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node."""
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only tree over leaf hashes that keeps every complete subtree's hash.

    Level k holds the hashes of the perfect subtrees of 2**k leaves, packed into one
    bytearray; any range hash then costs O(log n) lookups, so roots and proofs for any
    earlier size are cheap, and a million leaves take about 64 MiB.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        for h in leaf_hashes:
            self.append_hash(h)

    def __len__(self) -> int:
        return self._size

    def append_hash(self, h: bytes) -> int:
        """Append a leaf hash; returns its index."""
        if len(h) != HASH_SIZE:
            raise ProofError("leaf hash must be 32 bytes")
        index = self._size
        self._levels[0] += h
        self._size += 1
        level, position, current = 0, index, h
        # Each time this leaf completes a perfect subtree, record the parent.
        while position & 1:
            left = self._node(level, position - 1)
            current = node_hash(left, current)
            level += 1
            position >>= 1
            if level == len(self._levels):
                self._levels.append(bytearray())
            self._levels[level] += current
        return index

    def append(self, leaf: bytes) -> int:
        """Append a leaf (its bytes); returns its index."""
        return self.append_hash(leaf_hash(leaf))

    def leaf_hash_at(self, index: int) -> bytes:
        """The stored hash of leaf `index`."""
        if not 0 <= index < self._size:
            raise ProofError(f"leaf {index} is outside a tree of size {self._size}")
        return self._node(0, index)

    def _node(self, level: int, position: int) -> bytes:
        start = position * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def _range_hash(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end), end > start."""
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            return self._node(n.bit_length() - 1, start // n)
        k = _split(n)
        return node_hash(self._range_hash(start, start + k), self._range_hash(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` leaves (default: all)."""
        size = self._size if size is None else size
        if not 0 <= size <= self._size:
            raise ProofError(f"size {size} is outside a tree of size {self._size}")
        return EMPTY_ROOT if size == 0 else self._range_hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1."""
        size = self._size if size is None else size
        if not 0 <= index < size <= self._size:
            raise ProofError(f"no inclusion proof for leaf {index} in a tree of size {size}")
        proof: list[bytes] = []
        start, end = 0, size
        # Walk down from the root; siblings come out root-first, the RFC lists them
        # leaf-first.
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                proof.append(self._range_hash(start + k, end))
                end = start + k
            else:
                proof.append(self._range_hash(start, start + k))
                start += k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) of RFC 9162 section 2.1.4.1."""
        new_size = self._size if new_size is None else new_size
        if not 0 < old_size <= new_size <= self._size:
            raise ProofError(f"no consistency proof from size {old_size} to {new_size}")
        return self._subproof(old_size, 0, new_size, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self._range_hash(start, end)]
        k = _split(n)
        if m <= k:
            return [
                *self._subproof(m, start, start + k, complete),
                self._range_hash(start + k, end),
            ]
        return [*self._subproof(m - k, start + k, end, False), self._range_hash(start, start + k)]


class Frontier:
    """The right edge of a tree: the roots of its perfect subtrees, largest first.

    A monitor that reads every leaf hash in order needs only these (at most 64 hashes)
    to recompute the root of any size it reaches, so it can check what it was shown
    against a signed checkpoint without keeping the tree.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise ProofError("a frontier holds one hash per set bit of its size")
        _check_hashes(hashes)
        self.size = size
        self._hashes = list(hashes)

    @property
    def hashes(self) -> list[bytes]:
        """The subtree roots, largest (leftmost) first."""
        return list(self._hashes)

    def append_hash(self, h: bytes) -> None:
        """Add the next leaf hash, merging equal-sized subtrees as they complete."""
        if len(h) != HASH_SIZE:
            raise ProofError("leaf hash must be 32 bytes")
        position, current = self.size, h
        while position & 1:
            current = node_hash(self._hashes.pop(), current)
            position >>= 1
        self._hashes.append(current)
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves appended so far (RFC 9162: the subtrees folded from the right)."""
        if not self._hashes:
            return EMPTY_ROOT
        current = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            current = node_hash(left, current)
        return current


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH straight from the definition (used to cross-check the tree)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = _split(len(leaf_hashes))
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


def _check_hashes(proof: Sequence[bytes]) -> None:
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("proof element is not a 32-byte hash")


def verify_inclusion(
    index: int, size: int, leaf_hash_value: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 section 2.1.3.2; raises ProofError unless the proof is exactly right."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not inside a tree of size {size}")
    if len(leaf_hash_value) != HASH_SIZE or len(root) != HASH_SIZE:
        raise ProofError("leaf hash and root must be 32 bytes")
    _check_hashes(proof)
    fn, sn = index, size - 1
    r = leaf_hash_value
    for p in proof:
        if sn == 0:
            raise ProofError("proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("proof leads to a different root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 section 2.1.4.2; raises ProofError unless the proof is exactly right.

    Equal sizes need an empty proof and equal roots (and the empty tree's root when both
    are zero). A proof from the empty tree is refused: it would prove nothing.
    """
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        _verify_same_size(old_size, old_root, new_root, proof)
        return
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if not proof:
        raise ProofError("proof is empty")
    _check_hashes(proof)
    path = list(proof)
    # If old_size is a power of two, old_root is itself a node on the path.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fr, sr = _walk_consistency(old_size, new_size, path)
    if fr != old_root:
        raise ProofError("proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("proof does not lead to the new root")


def _verify_same_size(size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    if proof:
        raise ProofError("sizes are equal but the proof is not empty")
    if old_root != new_root:
        raise ProofError("sizes are equal but the roots differ")
    if size == 0 and old_root != EMPTY_ROOT:
        raise ProofError("the root of an empty tree must be SHA-256 of nothing")


def _walk_consistency(old_size: int, new_size: int, path: list[bytes]) -> tuple[bytes, bytes]:
    """The old and new roots a consistency path leads to."""
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than needed")
    return fr, sr
