"""Tampering with a stored ledger is caught by `pprl consent verify`, by a witness, or
both. Each case builds a committed ledger in a fresh database, has an attacker with full
database access (triggers disabled) change it, and runs the real checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session
from typer.testing import CliRunner

from consent import LogKey, ProofInvalid, Witness, WitnessAlarm, leaf_hash
from hub.migrate import upgrade
from hub.services.ledger import HubLedger, latest_checkpoint
from pprl.cli import app
from tests.conftest import BACKENDS, database_url, empty_database
from tests.factories import LedgerBuilder, grant_terms


@dataclass
class StoredLedger:
    engine: Engine
    builder: LedgerBuilder
    vkey: Path
    witness: Witness

    def sql(self, *statements: str, **params: object) -> None:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("ALTER TABLE ledger_entry DISABLE TRIGGER USER"))
                conn.execute(text("ALTER TABLE ledger_checkpoint DISABLE TRIGGER USER"))
            else:
                for name in ("entry", "checkpoint"):
                    for verb in ("update", "delete"):
                        conn.execute(text(f"DROP TRIGGER IF EXISTS ledger_{name}_no_{verb}"))
            for statement in statements:
                conn.execute(text(statement), params)

    def leaf(self, index: int) -> bytes:
        with self.engine.connect() as conn:
            return bytes(
                conn.execute(
                    text("SELECT leaf FROM ledger_entry WHERE entry_index = :i"), {"i": index}
                ).scalar_one()
            )

    def verify(self, *extra: str) -> tuple[int, str]:
        result = CliRunner().invoke(
            app,
            [
                "consent",
                "verify",
                "--database-url",
                database_url(self.engine),
                "--log-public-key",
                str(self.vkey),
                *extra,
            ],
        )
        return result.exit_code, result.stderr

    def witnessed_file(self, directory: Path) -> str:
        """The checkpoint the witness accepted, as `pprl node witness checkpoint` prints it."""
        known = self.witness.latest()
        assert known is not None
        path = directory / "witnessed.txt"
        path.write_text(known[1])
        return str(path)

    def hub_checkpoint_for_witness(self, log: LogKey) -> tuple[str, list[bytes]]:
        """What a (possibly dishonest) hub would hand a witness: its newest checkpoint
        and a consistency proof from the witness's size, computed from its database."""
        ledger = HubLedger(log)
        with Session(self.engine) as session:
            ledger.sync(session)
            latest = latest_checkpoint(session)
        assert latest is not None
        known = self.witness.latest()
        assert known is not None
        old = known[0].size
        proof = (
            ledger.tree.consistency_proof(old, latest[0])
            if 0 < old < latest[0] <= len(ledger.tree)
            else []
        )
        return latest[1], proof


@pytest.fixture(params=BACKENDS)
def stored(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoredLedger]:
    """Registrations, 8 grants, a checkpoint, a revocation, 2 more grants, a checkpoint;
    a witness that has seen the last checkpoint."""
    b = LedgerBuilder()
    grants = [b.grant() for _ in range(8)]
    with empty_database(request.param, tmp_path) as engine:
        upgrade(engine)
        ledger = HubLedger(b.log)
        with Session(engine) as session:
            for leaf in b.leaves:
                ledger.append(session, leaf)
            ledger.issue_checkpoint(session)
            b.revoke(grants[3])
            b.grant()
            b.grant()
            for leaf in b.leaves[len(ledger.tree) :]:
                ledger.append(session, leaf)
            note = ledger.issue_checkpoint(session)
            session.commit()
        assert note is not None
        vkey = tmp_path / "log.vkey"
        vkey.write_text(b.log.verifier.vkey())
        witness = Witness(tmp_path / "witness" / "state.json", b.log.verifier)
        witness.update(note, [])
        yield StoredLedger(engine, b, vkey, witness)


def test_untouched_ledger_verifies(stored: StoredLedger, tmp_path: Path) -> None:
    code, err = stored.verify()
    assert code == 0, err
    assert "ledger ok: 14 entries" in err
    code, err = stored.verify("--witnessed", stored.witnessed_file(tmp_path))
    assert code == 0, err
    assert "contains the 1 witnessed checkpoints" in err


def _flip(leaf: bytes) -> bytes:
    damaged = bytearray(leaf)
    damaged[len(damaged) // 3] ^= 0x01
    return bytes(damaged)


@pytest.mark.parametrize("index", [0, 5, 11, 13])
def test_flipped_byte_in_an_entry_is_named_by_verify(stored: StoredLedger, index: int) -> None:
    stored.sql(
        "UPDATE ledger_entry SET leaf = :leaf WHERE entry_index = :i",
        leaf=_flip(stored.leaf(index)),
        i=index,
    )
    code, err = stored.verify()
    assert code == 1
    assert f"ledger entry {index}: leaf bytes do not match" in err


@pytest.mark.parametrize("index", [2, 7, 12])
def test_flipped_byte_with_its_hash_recomputed_is_caught_too(
    stored: StoredLedger, index: int
) -> None:
    damaged = _flip(stored.leaf(index))
    stored.sql(
        "UPDATE ledger_entry SET leaf = :leaf, leaf_hash = :h WHERE entry_index = :i",
        leaf=damaged,
        h=leaf_hash(damaged),
        i=index,
    )
    code, err = stored.verify()
    assert code == 1
    assert "ledger entry" in err


def test_deleted_row_is_named(stored: StoredLedger) -> None:
    stored.sql("DELETE FROM ledger_entry WHERE entry_index = 6")
    code, err = stored.verify()
    assert code == 1
    assert "ledger entry 6: is missing" in err


def test_inserted_row_is_caught(stored: StoredLedger) -> None:
    extra = stored.builder.agency_entry("DCFS", type="GRANT", grant=grant_terms())
    n = len(stored.builder.leaves)
    stored.sql(
        *[
            f"UPDATE ledger_entry SET entry_index = {i + 1} WHERE entry_index = {i}"  # noqa: S608
            for i in range(n - 1, 5, -1)
        ],
        "INSERT INTO ledger_entry (entry_index, leaf, leaf_hash, appended_at) "
        "SELECT 6, :leaf, :h, appended_at FROM ledger_entry WHERE entry_index = 5",
        "UPDATE ledger_head SET size = size + 1",
        leaf=extra.leaf,
        h=extra.leaf_hash,
    )
    code, err = stored.verify()
    assert code == 1
    assert "differ from what the checkpoint" in err


def test_reordered_rows_are_caught(stored: StoredLedger) -> None:
    stored.sql(
        "UPDATE ledger_entry SET entry_index = -1 WHERE entry_index = 4",
        "UPDATE ledger_entry SET entry_index = 4 WHERE entry_index = 5",
        "UPDATE ledger_entry SET entry_index = 5 WHERE entry_index = -1",
    )
    code, err = stored.verify()
    assert code == 1
    assert "ledger entry 0: entries 0..10 differ from what the checkpoint at size 11 signed" in err


def test_truncated_rows_are_caught(stored: StoredLedger) -> None:
    stored.sql("DELETE FROM ledger_entry WHERE entry_index >= 12")
    code, err = stored.verify()
    assert code == 1
    assert "holds only 12 entries" in err


def test_older_backup_restored_passes_verify_but_the_witness_refuses_it(
    stored: StoredLedger, tmp_path: Path
) -> None:
    # A consistent older copy: rows and checkpoints as they were at size 11.
    stored.sql(
        "DELETE FROM ledger_entry WHERE entry_index >= 11",
        "DELETE FROM ledger_checkpoint WHERE size > 11",
        "UPDATE ledger_head SET size = 11",
    )
    code, err = stored.verify()
    assert code == 0, err  # nothing inside the copy is wrong...
    note, proof = stored.hub_checkpoint_for_witness(stored.builder.log)
    with pytest.raises(WitnessAlarm, match="rollback: the log showed size 11 after size 14"):
        stored.witness.update(note, proof)
    # ... and verification given the witness's checkpoint fails too.
    code, err = stored.verify("--witnessed", stored.witnessed_file(tmp_path))
    assert code == 1
    assert "witness saw it at size 14" in err
    assert "restored from an older backup" in err


def test_re_signed_rewrite_is_refused_by_the_witness(stored: StoredLedger, tmp_path: Path) -> None:
    # The operator drops the REVOKE (index 11) and what followed, appends other entries
    # and re-signs checkpoints with the real log key. Every signature is genuine.
    b = stored.builder
    stored.sql(
        "DELETE FROM ledger_entry WHERE entry_index >= 11",
        "DELETE FROM ledger_checkpoint WHERE size > 11",
        "UPDATE ledger_head SET size = 11",
    )
    ledger = HubLedger(b.log)
    with Session(stored.engine) as session:
        ledger.sync(session)
        for _ in range(3):
            ledger.append(session, b.agency_entry("DCFS", type="GRANT", grant=grant_terms()).leaf)
        ledger.issue_checkpoint(session)
        for _ in range(2):
            ledger.append(session, b.agency_entry("DCFS", type="GRANT", grant=grant_terms()).leaf)
        ledger.issue_checkpoint(session)
        session.commit()
    code, err = stored.verify()
    assert code == 0, err  # internally consistent...
    code, err = stored.verify("--witnessed", stored.witnessed_file(tmp_path))
    assert code == 1
    assert "second history" in err
    # ...but not an extension of what the witness saw at size 14.
    note, proof = stored.hub_checkpoint_for_witness(b.log)
    with pytest.raises((WitnessAlarm, ProofInvalid)):
        stored.witness.update(note, proof)
    # And the honest hub's proof cannot be replayed to make it pass.
    honest_proof = b.tree.consistency_proof(11, 14)
    with pytest.raises(ProofInvalid):
        stored.witness.update(note, honest_proof)


def test_entry_re_signed_by_the_hub_in_an_agencys_place_is_caught(stored: StoredLedger) -> None:
    b = stored.builder
    forged = b.hub_entry(
        type="KEY", action="revoke_key", agency_id="DOC", revoked_key_id=b.ids["DOC"].signing_key_id
    )
    stored.sql(
        "UPDATE ledger_entry SET leaf = :leaf, leaf_hash = :h WHERE entry_index = 13",
        leaf=forged.leaf,
        h=forged.leaf_hash,
    )
    code, err = stored.verify()
    assert code == 1
    assert "ledger entry" in err


def test_a_stored_checkpoint_that_no_longer_matches_the_tree_is_not_served(
    stored: StoredLedger,
) -> None:
    from consent import Checkpoint, LedgerTampered, sign_checkpoint
    from hub.services.cosignatures import served_checkpoint

    b = stored.builder
    # The operator re-signs the newest checkpoint over another root with the real key.
    forged = sign_checkpoint(Checkpoint(b.log.name, 14, leaf_hash(b"another tree")), b.log)
    stored.sql("UPDATE ledger_checkpoint SET note = :note WHERE size = 14", note=forged)
    with Session(stored.engine) as session, pytest.raises(LedgerTampered, match="entry 14"):
        served_checkpoint(session, HubLedger(b.log))
    # A note the log key never signed is refused too.
    other = sign_checkpoint(Checkpoint(b.log.name, 14, b.tree.root(14)), LogKey.generate("x"))
    stored.sql("UPDATE ledger_checkpoint SET note = :note WHERE size = 14", note=other)
    with Session(stored.engine) as session, pytest.raises(LedgerTampered, match="not sound"):
        served_checkpoint(session, HubLedger(b.log))
