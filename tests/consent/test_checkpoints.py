"""Checkpoints as C2SP signed notes, and the witness that refuses rollbacks and forks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from consent import (
    Checkpoint,
    CheckpointInvalid,
    LogKey,
    LogVerifier,
    ProofInvalid,
    Witness,
    WitnessAlarm,
    leaf_hash,
    open_checkpoint,
    sign_checkpoint,
)
from consent._internal.merkle import MerkleTree
from keys import canonical

NAME = "example.org/log"


def _tree(n: int, salt: bytes = b"") -> MerkleTree:
    return MerkleTree(leaf_hash(salt + bytes([i % 256, i // 256])) for i in range(n))


def test_note_has_the_c2sp_shape_and_key_id() -> None:
    key = LogKey.generate(NAME)
    note = sign_checkpoint(Checkpoint(NAME, 5, _tree(5).root()), key)
    body, sig_line = note.split("\n\n")
    assert body == f"{NAME}\n5\n{canonical.b64encode(_tree(5).root())}"
    assert sig_line.startswith(f"\u2014 {NAME} ")
    blob = canonical.b64decode(sig_line.split(" ")[2].rstrip("\n"))
    raw = key.private_key.public_key().public_bytes_raw()
    assert blob[:4] == hashlib.sha256(NAME.encode() + b"\n\x01" + raw).digest()[:4]
    key.private_key.public_key().verify(blob[4:], (body + "\n").encode())
    assert open_checkpoint(note, key.verifier) == Checkpoint(NAME, 5, _tree(5).root())


def test_verifier_key_round_trips_and_rejects_a_wrong_id() -> None:
    # Many keys, so that base64 with '+' in it is covered.
    for _ in range(64):
        verifier = LogKey.generate(NAME).verifier
        assert LogVerifier.from_vkey(verifier.vkey()).public_key.public_bytes_raw() == (
            verifier.public_key.public_bytes_raw()
        )
    name, _, key = verifier.vkey().split("+", 2)
    with pytest.raises(CheckpointInvalid, match="does not match"):
        LogVerifier.from_vkey(f"{name}+00000000+{key}")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.replace("\n5\n", "\n6\n"),
        lambda n: n.replace("\n5\n", "\n05\n"),
        lambda n: n.replace(NAME + "\n", "other.org/log\n", 1),
        lambda n: n.replace("\n\n", "\n"),
        lambda n: n[:-3] + "AA\n",
    ],
)
def test_altered_notes_are_refused(mangle: Callable[[str], str]) -> None:
    key = LogKey.generate(NAME)
    note = sign_checkpoint(Checkpoint(NAME, 5, _tree(5).root()), key)
    with pytest.raises(CheckpointInvalid):
        open_checkpoint(mangle(note), key.verifier)


def test_note_signed_by_another_key_is_refused_and_cosignatures_are_ignored() -> None:
    key, other = LogKey.generate(NAME), LogKey.generate(NAME)
    cp = Checkpoint(NAME, 5, _tree(5).root())
    with pytest.raises(CheckpointInvalid):
        open_checkpoint(sign_checkpoint(cp, other), key.verifier)
    witness = LogKey.generate("witness.example/w1")
    cosig = sign_checkpoint(cp, witness).split("\n\n")[1]
    assert open_checkpoint(sign_checkpoint(cp, key) + cosig, key.verifier) == cp


@pytest.fixture
def log() -> LogKey:
    return LogKey.generate(NAME)


def test_witness_accepts_a_proven_extension(tmp_path: Path, log: LogKey) -> None:
    tree = _tree(20)
    w = Witness(tmp_path / "witness.json", log.verifier)
    w.update(sign_checkpoint(Checkpoint(NAME, 7, tree.root(7)), log), [])
    w.update(
        sign_checkpoint(Checkpoint(NAME, 20, tree.root(20)), log), tree.consistency_proof(7, 20)
    )
    latest = w.latest()
    assert latest is not None
    assert latest[0].size == 20


def test_witness_refuses_rollback_and_keeps_evidence(tmp_path: Path, log: LogKey) -> None:
    tree = _tree(20)
    w = Witness(tmp_path / "witness.json", log.verifier)
    newer = sign_checkpoint(Checkpoint(NAME, 20, tree.root(20)), log)
    older = sign_checkpoint(Checkpoint(NAME, 7, tree.root(7)), log)
    w.update(newer, [])
    with pytest.raises(WitnessAlarm, match="rollback") as info:
        w.update(older, [])
    assert info.value.evidence_path is not None
    evidence = json.loads(Path(info.value.evidence_path).read_text())
    assert (evidence["first"], evidence["second"]) == (newer, older)
    latest = w.latest()
    assert latest is not None
    assert latest[0].size == 20


def test_witness_refuses_a_second_tree_of_the_same_size(tmp_path: Path, log: LogKey) -> None:
    w = Witness(tmp_path / "witness.json", log.verifier)
    w.update(sign_checkpoint(Checkpoint(NAME, 9, _tree(9).root()), log), [])
    fork = sign_checkpoint(Checkpoint(NAME, 9, _tree(9, salt=b"x").root()), log)
    with pytest.raises(WitnessAlarm, match="split view"):
        w.update(fork, [])


def test_witness_refuses_an_unproven_or_inconsistent_extension(tmp_path: Path, log: LogKey) -> None:
    honest, forked = _tree(20), _tree(20, salt=b"x")
    w = Witness(tmp_path / "witness.json", log.verifier)
    w.update(sign_checkpoint(Checkpoint(NAME, 7, honest.root(7)), log), [])
    rewritten = sign_checkpoint(Checkpoint(NAME, 20, forked.root()), log)
    with pytest.raises(ProofInvalid, match="not proven to extend"):
        w.update(rewritten, forked.consistency_proof(7, 20))
    with pytest.raises(ProofInvalid):
        w.update(sign_checkpoint(Checkpoint(NAME, 20, honest.root()), log), [])
    assert len(list(tmp_path.glob("evidence-inconsistent-*.json"))) == 2
