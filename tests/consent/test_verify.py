"""verify_ledger: a clean ledger passes; every kind of tampering names the entry."""

from __future__ import annotations

import random

import pytest

from consent import LedgerTampered, leaf_hash, verify_ledger
from tests.factories import LedgerBuilder


def _ledger() -> tuple[LedgerBuilder, list[str]]:
    b = LedgerBuilder()
    grants = [b.grant() for _ in range(6)]
    first = b.checkpoint()
    b.revoke(grants[2])
    b.grant()
    return b, [first, b.checkpoint()]


def test_clean_ledger_verifies_with_signatures_and_replay() -> None:
    b, notes = _ledger()
    report = verify_ledger(b.rows(), notes, b.log.verifier)
    assert (report.size, report.checkpoints, report.signatures_checked) == (
        len(b.leaves),
        2,
        len(b.leaves),
    )
    assert report.root == b.tree.root()


def test_flipped_byte_in_any_entry_is_detected_at_that_entry() -> None:
    b, notes = _ledger()
    rng = random.Random(7)
    for index in range(len(b.leaves)):
        rows = b.rows()
        leaf = bytearray(rows[index][1])
        leaf[rng.randrange(len(leaf))] ^= 0x04
        # Left with its old hash, and with a recomputed one (a careful forger).
        for stored in (rows[index][2], leaf_hash(bytes(leaf))):
            rows[index] = (index, bytes(leaf), stored)
            with pytest.raises(LedgerTampered) as info:
                verify_ledger(rows, notes, b.log.verifier)
            assert info.value.index <= index


def test_hash_only_mode_still_catches_a_consistent_rewrite_under_a_checkpoint() -> None:
    b, notes = _ledger()
    rows = b.rows()
    forged = rows[4][1].replace(b'"contact"', b'"plan"')
    rows[4] = (4, forged, leaf_hash(forged))
    with pytest.raises(LedgerTampered, match="differ from what the checkpoint at size 9 signed"):
        verify_ledger(rows, notes, b.log.verifier, check_entries=False)


def test_deleted_row_is_named() -> None:
    b, notes = _ledger()
    rows = b.rows()
    del rows[5]
    with pytest.raises(LedgerTampered, match="ledger entry 5: is missing"):
        verify_ledger(rows, notes, b.log.verifier)


def test_inserted_row_is_detected() -> None:
    b, notes = _ledger()
    rows = b.rows()
    extra = b.agency_entry("DCFS", type="GRANT", grant=b.state.grants[3].terms.model_dump())
    rows.insert(4, (4, extra.leaf, extra.leaf_hash))
    rows = [(i, leaf, h) for i, (_, leaf, h) in enumerate(rows)]
    with pytest.raises(LedgerTampered):
        verify_ledger(rows, notes, b.log.verifier)


def test_reordered_rows_are_detected() -> None:
    b, notes = _ledger()
    rows = b.rows()
    rows[4], rows[5] = (4, rows[5][1], rows[5][2]), (5, rows[4][1], rows[4][2])
    with pytest.raises(LedgerTampered, match="differ from what the checkpoint"):
        verify_ledger(rows, notes, b.log.verifier, check_entries=False)
    with pytest.raises(LedgerTampered):
        verify_ledger(rows, notes, b.log.verifier)


def test_truncated_ledger_is_detected_by_its_checkpoints() -> None:
    b, notes = _ledger()
    with pytest.raises(LedgerTampered, match="holds only 9 entries"):
        verify_ledger(b.rows()[:9], notes, b.log.verifier)


def test_checkpoint_signed_by_another_key_is_detected() -> None:
    b, notes = _ledger()
    impostor = LedgerBuilder()
    with pytest.raises(LedgerTampered, match="stored checkpoint is invalid"):
        verify_ledger(b.rows(), [*notes, impostor.checkpoint()], b.log.verifier)
