"""Checks the hub's commands make before they touch a database, so an ordinary mistake
(serving before migrating, a mistyped path) is one line of advice, not a traceback or an
empty database file created where the real one was expected."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hub.failures import HubError

if TYPE_CHECKING:
    from hub.settings import HubSettings


class HubSetupError(HubError):
    """The hub's database or settings are not ready for the command."""


def shown_url(url: str) -> str:
    """The URL as it may be printed: never with its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def sqlite_path(url: str) -> Path | None:
    """The file behind a file-backed SQLite URL, else None."""
    # Imported here: SQLAlchemy takes a noticeable time to import, and most `pprl`
    # commands never touch a database.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise HubSetupError(
            f"the database URL {url.split(':', 1)[0]}:... is not a SQLAlchemy URL",
            "Use e.g. sqlite:///pprl-hub.db or postgresql+psycopg://user@host/db",
            exit_code=2,
        ) from None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def require_migrated(url: str) -> None:
    """Refuse a database that does not exist or is not at the code's schema revision."""
    from hub import migrate
    from hub.db import create_db_engine

    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise HubSetupError(
            f"there is no hub database at {path}",
            "Run `pprl hub migrate` first, or point --database-url (PPRL_DATABASE_URL) at "
            "the hub's database",
        )
    engine = create_db_engine(url)
    try:
        current = migrate.current_revision(engine)
    finally:
        engine.dispose()
    head = migrate.head_revision()
    if current != head:
        state = "was never migrated" if current is None else f"is at revision {current}"
        raise HubSetupError(
            f"the hub database {shown_url(url)} {state}; this version needs {head}",
            "Run `pprl hub migrate` (with the same PPRL_DATABASE_URL) and start again",
        )


def require_empty(url: str) -> None:
    """Refuse a database that already holds tables (the demo builds its own hub)."""
    from sqlalchemy import inspect

    from hub.db import create_db_engine

    engine = create_db_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise HubSetupError(
            f"the database {shown_url(url)} is not empty ({len(tables)} tables)",
            "The demo builds a hub of its own: give --database-url an empty database",
            exit_code=2,
        )


def require_key_files(settings: HubSettings) -> None:
    """Open the key files the settings name, so a missing, short or too widely readable
    key is one line of advice before any worker starts, not a traceback from each."""
    from consent import LogKey
    from hub.crypto import DataCipher

    if settings.data_key_file:
        DataCipher.from_file(settings.data_key_file)
    if settings.log_key_file:
        LogKey.load(settings.log_key_file)
