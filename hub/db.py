"""Database engines and column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, Table, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no timezone type; storing naive UTC there and re-attaching UTC on read
    keeps comparisons right. Naive datetimes are refused on the way in, because a
    silently-local time in a consent expiry is a disclosure bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


WRITER = "pprl_writer"


def begin_writer(session: Session) -> None:
    """Start the session's next transaction as a writer. On SQLite that is BEGIN
    IMMEDIATE: two transactions that read and then write would otherwise deadlock, and
    SQLite answers a deadlock with "database is locked" at once instead of waiting. Other
    databases take row locks as they go and need nothing here."""
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITER: True})


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`, with SQLite made to honour transactions and foreign keys."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **kwargs)
    engine = create_engine(url, **kwargs)
    file_backed = ":memory:" not in url and url.rstrip("/") not in ("sqlite:", "sqlite+pysqlite:")

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT (and so rolled-back test
        # transactions and nested service transactions); take it over, as SQLAlchemy's
        # documentation recommends.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        if file_backed:
            # Readers (a linkage run reading every encoding) never block the writer.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Any) -> None:
        writer = connection.get_execution_options().get(WRITER, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a model, for bulk statements: SQLModel sets `__table__`
    at class creation, which type checkers cannot see."""
    table: Table = getattr(model, "__table__")  # noqa: B009
    return table


def refs_by_agency(
    records: Iterable[tuple[str, str]], chunk: int = 500
) -> Iterator[tuple[str, list[str]]]:
    """(agency, up to `chunk` refs) groups of (agency, ref) keys, for lookups of the form
    `agency_id = ? AND ref IN (...)`. A row-value `(agency_id, ref) IN (...)` of more
    than one key makes SQLite scan the whole table; this uses the primary key."""
    grouped: dict[str, list[str]] = {}
    for agency, ref in sorted(set(records)):
        grouped.setdefault(agency, []).append(ref)
    for agency, refs in grouped.items():
        for start in range(0, len(refs), chunk):
            yield agency, refs[start : start + chunk]
