from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func
from sqlalchemy.exc import StatementError
from sqlmodel import Session, select

from hub.models import Agency


def test_work_inside_a_test_transaction_never_reaches_the_database(db_engine: Engine) -> None:
    # The mechanism every database test relies on: commits inside the test become
    # savepoint releases, and the outer rollback removes them.
    connection = db_engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    session.add(Agency(agency_id="ROLLED-BACK", registered_at=datetime.now(UTC)))
    session.commit()
    assert session.get(Agency, "ROLLED-BACK") is not None
    session.close()
    outer.rollback()
    connection.close()
    with Session(db_engine) as fresh:
        count = fresh.exec(
            select(func.count()).select_from(Agency).where(Agency.agency_id == "ROLLED-BACK")
        ).one()
    assert count == 0


def test_timestamps_come_back_in_utc_whatever_zone_went_in(session: Session) -> None:
    eastern = timezone(timedelta(hours=-5))
    session.add(Agency(agency_id="TZ", registered_at=datetime(2026, 11, 23, 7, 0, tzinfo=eastern)))
    session.flush()
    session.expire_all()
    stored = session.get(Agency, "TZ")
    assert stored is not None
    assert stored.registered_at == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert stored.registered_at.tzinfo is not None


def test_naive_timestamps_are_refused(session: Session) -> None:
    session.add(Agency(agency_id="NAIVE", registered_at=datetime(2026, 11, 23, 12, 0)))  # noqa: DTZ001
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_lookups_of_several_records_use_the_primary_key_not_a_table_scan(tmp_path: Path) -> None:
    """An answer reads the enrollment dates of every linked record and the review answers
    of its links, a caseload the exit times, a notification the linked records. Asked as
    `(agency_id, ref) IN (...)` of more than one key, SQLite scans the whole table (a
    million encodings: 150 ms an answer); grouped by agency, each lookup is a search."""
    from hub.db import create_db_engine
    from hub.disclosure.links import enrollment_dates
    from hub.migrate import upgrade
    from hub.services.caseload import exits_noticed
    from hub.services.notify import confident_partners
    from hub.services.review import confirmed

    engine = create_db_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    upgrade(engine)
    statements: list[tuple[str, Any]] = []

    def _seen(*args: Any) -> None:  # (conn, cursor, statement, parameters, ...)
        if any(f"FROM {table}" in args[2] for table in ("encoding", "link", "review_answer")):
            statements.append((args[2], args[3]))

    event.listen(engine, "before_cursor_execute", _seen)
    records = [("DOC", "a" * 64), ("DOC", "b" * 64), ("DWD", "c" * 64), ("DWD", "d" * 64)]
    with Session(engine) as session:
        enrollment_dates(session, records)
        exits_noticed(session, records)
        confident_partners(session, records)
        confirmed(session, [("DOC", "a" * 64, "DWD", "c" * 64), ("DOC", "b" * 64, "DWD", "d" * 64)])
    event.remove(engine, "before_cursor_execute", _seen)
    assert statements
    with engine.connect() as conn:
        for sql, params in statements:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            assert not any(str(row[-1]).startswith("SCAN") for row in plan), plan
    engine.dispose()
