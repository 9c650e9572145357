from __future__ import annotations

import json

import pytest

from consent import (
    CheckpointInvalid,
    ProofInvalid,
    check_proof_bundle,
    make_proof_bundle,
    prove_grant,
)
from tests.factories import LedgerBuilder


def test_bundle_proves_an_entry_offline() -> None:
    b = LedgerBuilder()
    g = b.grant()
    b.grant()
    note = b.checkpoint()
    bundle = make_proof_bundle(g, b.leaves[g], b.tree, note, len(b.tree))
    proven = check_proof_bundle(bundle, b.log.verifier)
    assert proven.index == g
    assert proven.checkpoint.size == len(b.tree)
    assert proven.entry.leaf == b.leaves[g]


@pytest.mark.parametrize("field", ["index", "leaf", "inclusion_proof", "checkpoint"])
def test_altered_bundle_fails(field: str) -> None:
    b = LedgerBuilder()
    g = b.grant()
    b.grant()
    doc = json.loads(make_proof_bundle(g, b.leaves[g], b.tree, b.checkpoint(), len(b.tree)))
    if field == "index":
        doc["index"] += 1
    elif field == "leaf":
        doc["leaf"] = json.loads(
            make_proof_bundle(g + 1, b.leaves[g + 1], b.tree, b.checkpoint(), len(b.tree))
        )["leaf"]
    elif field == "inclusion_proof":
        doc["inclusion_proof"] = doc["inclusion_proof"][::-1]
    else:
        doc["checkpoint"] = doc["checkpoint"].replace(
            f"\n{len(b.tree)}\n", f"\n{len(b.tree) + 1}\n"
        )
    with pytest.raises((ProofInvalid, CheckpointInvalid)):
        check_proof_bundle(json.dumps(doc).encode(), b.log.verifier)


def test_a_grant_proof_is_the_bundle_a_node_checks_offline() -> None:
    b = LedgerBuilder()
    g = b.grant()
    b.grant()
    proof = prove_grant(g, b.leaves[g], b.tree, b.checkpoint(), b.log.verifier)
    assert proof.leaf_hash == b.tree.leaf_hash_at(g)
    proven = check_proof_bundle(proof.bundle(), b.log.verifier)
    assert (proven.index, proven.entry.leaf) == (g, b.leaves[g])


def test_a_grant_is_not_proven_under_a_checkpoint_before_it() -> None:
    b = LedgerBuilder()
    note = b.checkpoint()
    g = b.grant()
    with pytest.raises(ProofInvalid, match="does not include"):
        prove_grant(g, b.leaves[g], b.tree, note, b.log.verifier)


def test_a_grant_proof_refuses_a_leaf_the_tree_does_not_hold() -> None:
    b = LedgerBuilder()
    g = b.grant()
    other = b.grant()
    with pytest.raises(ProofInvalid, match="not the one in the tree"):
        prove_grant(g, b.leaves[other], b.tree, b.checkpoint(), b.log.verifier)
