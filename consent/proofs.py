"""Offline proof bundles: one entry, the checkpoint it is under, and the inclusion proof.

Anyone holding the hub's published log key can check a bundle without the hub: the
checkpoint's signature, the entry's inclusion under that root, and the entry's form.
"""

from __future__ import annotations

from dataclasses import dataclass

from consent._internal.merkle import MerkleTree, ProofError, leaf_hash, verify_inclusion
from consent.checkpoints import Checkpoint, LogVerifier, open_checkpoint
from consent.errors import ProofInvalid
from consent.leaves import SignedEntry, parse_leaf
from keys import canonical

BUNDLE_TYPE = "pprl.consent-proof.v1"


@dataclass(frozen=True)
class ProvenEntry:
    """An entry shown to be entry `index` of the log at `checkpoint`."""

    index: int
    entry: SignedEntry
    checkpoint: Checkpoint


@dataclass(frozen=True)
class GrantProof:
    """What a disclosure carries about the grant it relied on: the grant's leaf, its
    index, and its inclusion proof under the signed checkpoint `note`, so the asking node
    can check both what the grant says and that the log holds it."""

    index: int
    leaf: bytes
    note: str
    inclusion_proof: tuple[bytes, ...]

    @property
    def leaf_hash(self) -> bytes:
        """The grant's RFC 9162 leaf hash."""
        return leaf_hash(self.leaf)

    def bundle(self) -> bytes:
        """The offline proof bundle of this grant (`check_proof_bundle` reads it)."""
        return bundle_proof(self.index, self.leaf, self.note, list(self.inclusion_proof))


def prove_grant(
    index: int, leaf: bytes, tree: MerkleTree, note: str, verifier: LogVerifier
) -> GrantProof:
    """The proof of grant `index` (its `leaf`) under checkpoint `note` of `tree`, checked
    as the asking node will check it before it is handed out."""
    checkpoint = open_checkpoint(note, verifier)
    if checkpoint.size <= index:
        raise ProofInvalid(f"checkpoint at size {checkpoint.size} does not include entry {index}")
    if leaf_hash(leaf) != tree.leaf_hash_at(index):
        raise ProofInvalid(f"leaf {index} is not the one in the tree")
    proof = tuple(tree.inclusion_proof(index, checkpoint.size))
    try:
        verify_inclusion(index, checkpoint.size, leaf_hash(leaf), list(proof), checkpoint.root)
    except ProofError as exc:
        raise ProofInvalid(f"entry {index} is not in the log at the checkpoint: {exc}") from None
    return GrantProof(index, leaf, note, proof)


def make_proof_bundle(index: int, leaf: bytes, tree: MerkleTree, note: str, size: int) -> bytes:
    """Bundle entry `index` (its `leaf`) with the checkpoint `note` of the tree at `size`."""
    if leaf_hash(leaf) != tree.leaf_hash_at(index):
        raise ProofInvalid(f"leaf {index} is not the one in the tree")
    proof = tree.inclusion_proof(index, size)
    return bundle_proof(index, leaf, note, proof)


def bundle_proof(index: int, leaf: bytes, note: str, proof: list[bytes]) -> bytes:
    """The bundle of an inclusion proof already in hand (a node holding the proof an
    answer carried, to offer it for offline checking)."""
    return canonical.canonical_json(
        {
            "type": BUNDLE_TYPE,
            "index": index,
            "leaf": canonical.b64encode(leaf),
            "checkpoint": note,
            "inclusion_proof": [canonical.b64encode(p) for p in proof],
        }
    )


def check_proof_bundle(bundle: bytes, verifier: LogVerifier) -> ProvenEntry:
    """Verify a bundle made by `make_proof_bundle`; raises ProofInvalid or CheckpointInvalid."""
    try:
        doc = canonical.strict_json_loads(bundle)
    except canonical.EncodingError as exc:
        raise ProofInvalid(f"proof bundle: {exc}") from None
    fields = {"type", "index", "leaf", "checkpoint", "inclusion_proof"}
    if not isinstance(doc, dict) or set(doc) != fields or doc["type"] != BUNDLE_TYPE:
        raise ProofInvalid("not a pprl consent proof bundle")
    index, proof = doc["index"], doc["inclusion_proof"]
    if type(index) is not int or not isinstance(proof, list):
        raise ProofInvalid("proof bundle: index or inclusion_proof has the wrong type")
    if not isinstance(doc["leaf"], str) or not isinstance(doc["checkpoint"], str):
        raise ProofInvalid("proof bundle: leaf and checkpoint must be strings")
    checkpoint = open_checkpoint(doc["checkpoint"], verifier)
    try:
        leaf = canonical.b64decode(doc["leaf"])
        hashes = [canonical.b64decode(p) for p in proof if isinstance(p, str)]
    except canonical.EncodingError as exc:
        raise ProofInvalid(f"proof bundle: {exc}") from None
    if len(hashes) != len(proof):
        raise ProofInvalid("proof bundle: inclusion proof elements must be base64 strings")
    try:
        verify_inclusion(index, checkpoint.size, leaf_hash(leaf), hashes, checkpoint.root)
    except ProofError as exc:
        raise ProofInvalid(
            f"entry {index} is not in the log at size {checkpoint.size}: {exc}"
        ) from None
    return ProvenEntry(index, parse_leaf(leaf), checkpoint)
