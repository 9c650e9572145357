"""Witness cosignatures (C2SP tlog-cosignature, Ed25519 cosignature/v1)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from consent import (
    Checkpoint,
    CheckpointInvalid,
    LogKey,
    cosign,
    cosigners,
    open_checkpoint,
    open_cosignature,
    sign_checkpoint,
    with_cosignatures,
    witness_name,
)
from keys import AgencyIdentity, canonical

ROOT = hashlib.sha256(b"root").digest()
WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def log() -> LogKey:
    return LogKey.generate("hub.test/consent-ledger")


def _agency(name: str) -> AgencyIdentity:
    return AgencyIdentity.create(name, (name.lower(),))


def test_a_cosignature_follows_the_c2sp_layout_and_verifies(log: LogKey) -> None:
    checkpoint = Checkpoint(log.name, 42, ROOT)
    dcfs = _agency("DCFS")
    public = dcfs.signing_key.public_key()
    made = cosign(checkpoint, witness_name("DCFS"), public, dcfs, now=WHEN)
    dash, name, blob_text = made.line.split(" ")
    assert (dash, name) == ("\u2014", "pprl-witness/DCFS")
    blob = canonical.b64decode(blob_text)
    key_id = hashlib.sha256(b"pprl-witness/DCFS\n\x04" + public.public_bytes_raw()).digest()[:4]
    assert blob[:4] == key_id
    assert int.from_bytes(blob[4:12], "big") == int(WHEN.timestamp())
    message = f"cosignature/v1\ntime {int(WHEN.timestamp())}\n{checkpoint.body()}".encode()
    public.verify(blob[12:], message)  # raises if the signed message differs
    assert open_cosignature(made.line, checkpoint, name, public).at == WHEN


def test_a_cosigned_note_still_opens_and_names_its_cosigners(log: LogKey) -> None:
    checkpoint = Checkpoint(log.name, 7, ROOT)
    note = sign_checkpoint(checkpoint, log)
    dcfs, doc, stranger = _agency("DCFS"), _agency("DOC"), _agency("DJJ")
    lines = [
        cosign(checkpoint, witness_name(a.agency_id), a.signing_key.public_key(), a).line
        for a in (dcfs, doc, stranger)
    ]
    cosigned = with_cosignatures(note, lines)
    assert open_checkpoint(cosigned, log.verifier) == checkpoint
    known = {witness_name(a.agency_id): a.signing_key.public_key() for a in (dcfs, doc)}
    assert set(cosigners(cosigned, checkpoint, known)) == {
        "pprl-witness/DCFS",
        "pprl-witness/DOC",
    }
    # Adding the same lines again changes nothing.
    assert with_cosignatures(cosigned, lines) == cosigned


def test_a_cosignature_on_another_tree_or_by_another_key_does_not_count(log: LogKey) -> None:
    checkpoint = Checkpoint(log.name, 7, ROOT)
    other_tree = Checkpoint(log.name, 8, ROOT)
    dcfs = _agency("DCFS")
    public = dcfs.signing_key.public_key()
    line = cosign(checkpoint, witness_name("DCFS"), public, dcfs).line
    with pytest.raises(CheckpointInvalid, match="does not verify"):
        open_cosignature(line, other_tree, "pprl-witness/DCFS", public)
    impostor = _agency("DCFS").signing_key.public_key()
    with pytest.raises(CheckpointInvalid, match="not by pprl-witness/DCFS's current key"):
        open_cosignature(line, checkpoint, "pprl-witness/DCFS", impostor)
    note = with_cosignatures(sign_checkpoint(other_tree, log), [line])
    assert cosigners(note, other_tree, {"pprl-witness/DCFS": public}) == {}
