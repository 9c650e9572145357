from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func
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
