from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent._internal.merkle import (
    EMPTY_ROOT,
    Frontier,
    MerkleTree,
    ProofError,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent / "vectors" / "merkle"
VECTOR_FILES = sorted(VECTORS.rglob("*.json"))

# RFC 6962 / certificate-transparency reference leaves and the roots of their prefixes.
RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
RFC6962_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _check_vector(d: dict[str, Any]) -> None:
    proof = [_b64(p) for p in d["proof"] or []]
    if "leafIdx" in d:
        verify_inclusion(d["leafIdx"], d["treeSize"], _b64(d["leafHash"]), proof, _b64(d["root"]))
    else:
        verify_consistency(d["size1"], d["size2"], _b64(d["root1"]), _b64(d["root2"]), proof)


def test_all_196_vectors_are_present() -> None:
    assert len(VECTOR_FILES) == 196


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: str(p.relative_to(VECTORS)))
def test_vector_gives_the_expected_answer(path: Path) -> None:
    vector = json.loads(path.read_text())
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            _check_vector(vector)
    else:
        _check_vector(vector)


def test_rfc6962_reference_roots_for_sizes_1_to_8() -> None:
    tree = MerkleTree()
    for size, (leaf, expected) in enumerate(zip(RFC6962_LEAVES, RFC6962_ROOTS, strict=True), 1):
        tree.append(leaf)
        assert tree.root().hex() == expected
        assert tree.root(size).hex() == expected
    # Earlier roots stay reachable after the tree grew.
    assert [tree.root(s).hex() for s in range(1, 9)] == RFC6962_ROOTS
    assert tree.root(0) == EMPTY_ROOT


sizes = st.integers(min_value=1, max_value=70)


@settings(max_examples=60, deadline=None)
@given(size=sizes, data=st.data())
def test_tree_root_matches_the_definition_and_proofs_verify(size: int, data: st.DataObject) -> None:
    leaves = [f"leaf {i}".encode() for i in range(size)]
    hashes = [leaf_hash(x) for x in leaves]
    tree = MerkleTree(hashes)
    for s in {1, size, data.draw(st.integers(1, size))}:
        assert tree.root(s) == root_of(hashes[:s])
    index = data.draw(st.integers(0, size - 1))
    verify_inclusion(index, size, hashes[index], tree.inclusion_proof(index), tree.root())
    old = data.draw(st.integers(1, size))
    verify_consistency(old, size, tree.root(old), tree.root(), tree.consistency_proof(old))


@settings(max_examples=40, deadline=None)
@given(size=st.integers(2, 40), data=st.data())
def test_every_single_bit_mutation_of_an_inclusion_proof_fails(
    size: int, data: st.DataObject
) -> None:
    tree = MerkleTree(leaf_hash(bytes([i])) for i in range(size))
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index)
    root = tree.root()
    for element in range(len(proof)):
        for bit in range(256):
            mutated = [bytearray(p) for p in proof]
            mutated[element][bit // 8] ^= 1 << (bit % 8)
            with pytest.raises(ProofError):
                verify_inclusion(
                    index, size, tree.leaf_hash_at(index), [bytes(m) for m in mutated], root
                )
    # And the wrong index, size or leaf fails too.
    for wrong_index in {index ^ 1, index + 1}:
        if wrong_index < size and wrong_index != index:
            with pytest.raises(ProofError):
                verify_inclusion(wrong_index, size, tree.leaf_hash_at(index), proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf_hash(b"another leaf"), proof, root)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(3, 40), data=st.data())
def test_every_single_bit_mutation_of_a_consistency_proof_fails(
    size: int, data: st.DataObject
) -> None:
    tree = MerkleTree(leaf_hash(bytes([i])) for i in range(size))
    old = data.draw(st.integers(1, size - 1))
    proof = tree.consistency_proof(old)
    for element in range(len(proof)):
        for bit in range(256):
            mutated = [bytearray(p) for p in proof]
            mutated[element][bit // 8] ^= 1 << (bit % 8)
            with pytest.raises(ProofError):
                verify_consistency(
                    old, size, tree.root(old), tree.root(), [bytes(m) for m in mutated]
                )
    # Dropping or adding an element, or naming other sizes, fails.
    with pytest.raises(ProofError):
        verify_consistency(old, size, tree.root(old), tree.root(), proof[:-1])
    with pytest.raises(ProofError):
        verify_consistency(old, size, tree.root(old), tree.root(), [*proof, proof[0]])
    with pytest.raises(ProofError):
        verify_consistency(old, size, tree.root(old), leaf_hash(b"another root"), proof)
    with pytest.raises(ProofError):
        verify_consistency(old, size, leaf_hash(b"another root"), tree.root(), proof)


def test_bad_arguments_raise_proof_errors_not_bare_exceptions() -> None:
    tree = MerkleTree(leaf_hash(b"x") for _ in range(3))
    with pytest.raises(ProofError):
        tree.inclusion_proof(3)
    with pytest.raises(ProofError):
        tree.consistency_proof(0)
    with pytest.raises(ProofError):
        tree.root(4)
    with pytest.raises(ProofError):
        tree.append_hash(b"short")


@given(st.integers(min_value=0, max_value=300))
@settings(max_examples=60, deadline=None)
def test_frontier_root_equals_the_full_tree_root_at_every_size(n: int) -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    frontier = Frontier()
    for h in hashes:
        frontier.append_hash(h)
    assert frontier.size == n
    assert frontier.root() == root_of(hashes)
    assert len(frontier.hashes) == n.bit_count()
    # A frontier rebuilt from its saved hashes goes on exactly like the original.
    again = Frontier(n, frontier.hashes)
    extra = leaf_hash(b"next")
    again.append_hash(extra)
    assert again.root() == root_of([*hashes, extra])


def test_frontier_refuses_a_shape_that_cannot_be_a_tree_edge() -> None:
    with pytest.raises(ProofError, match="one hash per set bit"):
        Frontier(3, [leaf_hash(b"a")])
