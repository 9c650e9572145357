"""The ledger as the hub stores it: appends, the append-only triggers, recovery from a
rolled-back append, and gap-free indices under concurrent writers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from consent import EntryRejected, check_proof_bundle, verify_ledger
from hub.migrate import upgrade
from hub.services.ledger import HubLedger, head_size, proof_bundle, stored_checkpoints, stored_rows
from tests.conftest import BACKENDS, empty_database
from tests.factories import LedgerBuilder, grant_terms


def _load(ledger: HubLedger, session: Session, builder: LedgerBuilder) -> None:
    for leaf in builder.leaves:
        ledger.append(session, leaf)


@contextmanager
def _stored(backend: str, tmp_path: Path, ledger: HubLedger, b: LedgerBuilder) -> Iterator[Engine]:
    """A fresh database of `backend` holding the builder's entries, committed."""
    with empty_database(backend, tmp_path) as engine:
        upgrade(engine)
        with Session(engine) as session:
            _load(ledger, session, b)
            session.commit()
        yield engine


def test_appended_entries_verify_and_prove(session: Session) -> None:
    b = LedgerBuilder()
    b.grant()
    ledger = HubLedger(b.log)
    _load(ledger, session, b)
    assert head_size(session) == len(b.leaves)
    assert ledger.issue_checkpoint(session) is not None
    assert ledger.issue_checkpoint(session) is None  # nothing new
    report = verify_ledger(stored_rows(session), stored_checkpoints(session), b.log.verifier)
    assert report.root == b.tree.root()
    proven = check_proof_bundle(proof_bundle(session, 3), b.log.verifier)
    assert proven.entry.leaf == b.leaves[3]


def test_rejected_entry_stores_nothing(session: Session) -> None:
    b = LedgerBuilder()
    ledger = HubLedger(b.log)
    _load(ledger, session, b)
    bad = b.agency_entry("DOC", type="GRANT", grant=grant_terms())  # DOC cannot grant for DCFS
    with pytest.raises(EntryRejected):
        ledger.append(session, bad.leaf)
    assert head_size(session) == len(b.leaves)
    assert len(list(stored_rows(session))) == len(b.leaves)


@pytest.mark.parametrize(
    "statement", ["UPDATE ledger_entry SET leaf = leaf", "DELETE FROM ledger_entry"]
)
def test_database_refuses_to_change_or_delete_ledger_rows(session: Session, statement: str) -> None:
    b = LedgerBuilder()
    ledger = HubLedger(b.log)
    _load(ledger, session, b)
    ledger.issue_checkpoint(session)
    for table_statement in (
        statement,
        statement.replace("ledger_entry", "ledger_checkpoint").replace(
            "leaf = leaf", "note = note"
        ),
    ):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(table_statement))
    assert len(list(stored_rows(session))) == len(b.leaves)


def test_rolled_back_append_is_forgotten(session: Session) -> None:
    b = LedgerBuilder()
    ledger = HubLedger(b.log)
    _load(ledger, session, b)
    nested = session.begin_nested()
    first = b.agency_entry("DCFS", type="GRANT", grant=grant_terms())
    assert ledger.append(session, first.leaf) == 3
    nested.rollback()
    second = b.agency_entry("DCFS", type="GRANT", grant=grant_terms())
    assert ledger.append(session, second.leaf) == 3
    assert [leaf for _, leaf, _ in stored_rows(session)][3] == second.leaf
    assert ledger.state.size == 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_appenders_keep_indices_gap_free(backend: str, tmp_path: Path) -> None:
    b = LedgerBuilder()
    grants = [b.agency_entry("DCFS", type="GRANT", grant=grant_terms()).leaf for _ in range(40)]
    with _stored(backend, tmp_path, HubLedger(b.log), b) as engine:
        errors: list[BaseException] = []

        def writer(leaves: list[bytes]) -> None:
            ledger = HubLedger(b.log)  # as if each were its own hub process
            try:
                for leaf in leaves:
                    with Session(engine) as s:
                        ledger.append(s, leaf)
                        s.commit()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(grants[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with Session(engine) as session:
            indices = [i for i, _, _ in stored_rows(session)]
            assert indices == list(range(len(b.leaves) + len(grants)))
            assert head_size(session) == len(indices)
            verify_ledger(stored_rows(session), [], b.log.verifier)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_requests_of_one_hub_never_deadlock(backend: str, tmp_path: Path) -> None:
    # One request signs a checkpoint, then appends, in one transaction (an answer relying on
    # consent); another signs a checkpoint meanwhile. Taking the in-process lock before the
    # database's made each wait for the other (found by the load test on PostgreSQL).
    b = LedgerBuilder()
    grants = [b.agency_entry("DCFS", type="GRANT", grant=grant_terms()).leaf for _ in range(2)]
    ledger = HubLedger(b.log)  # one hub process: its request threads share it
    with _stored(backend, tmp_path, ledger, b) as engine:
        checkpointed = threading.Event()
        errors: list[BaseException] = []

        def session_with_lock_timeout() -> Session:
            session = Session(engine)
            if engine.dialect.name == "postgresql":  # a deadlock fails the test, not hangs it
                session.execute(text("SET lock_timeout = '10s'"))
            return session

        def answer() -> None:
            try:
                with session_with_lock_timeout() as session:
                    ledger.issue_checkpoint(session)
                    checkpointed.set()
                    time.sleep(0.5)  # the other request gets going
                    ledger.append(session, grants[0])
                    session.commit()
            except BaseException as exc:
                errors.append(exc)
            finally:
                checkpointed.set()

        def scheduled_checkpoint() -> None:
            checkpointed.wait()
            try:
                with session_with_lock_timeout() as session:
                    ledger.issue_checkpoint(session)
                    session.commit()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=f, daemon=True) for f in (answer, scheduled_checkpoint)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "deadlocked"
        assert errors == []
        with Session(engine) as session:
            assert head_size(session) == len(b.leaves) + 1
            sizes = [int(note.split("\n")[1]) for note in stored_checkpoints(session)]
            assert sizes == [len(b.leaves), len(b.leaves) + 1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reader_neither_proves_nor_rebuilds_around_an_append_in_flight(
    backend: str, tmp_path: Path
) -> None:
    b = LedgerBuilder()
    grant = b.agency_entry("DCFS", type="GRANT", grant=grant_terms()).leaf
    ledger = HubLedger(b.log)
    with _stored(backend, tmp_path, ledger, b) as engine, Session(engine) as writer:
        ledger.append(writer, grant)  # not committed yet
        tree = ledger.tree
        with Session(engine) as reader:
            assert ledger.sync(reader) == len(b.leaves)  # what the reader may prove
        assert ledger.tree is tree  # not rebuilt (a rebuild replays the whole ledger)
        assert len(tree) == len(b.leaves) + 1
        writer.commit()
        with Session(engine) as reader:
            assert ledger.sync(reader) == len(b.leaves) + 1
