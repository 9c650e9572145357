"""Shared fixtures. Database tests run on SQLite always, and on PostgreSQL as well when
PPRL_TEST_DATABASE_URL names a server (CI sets it). Each test runs inside a transaction
that is rolled back, so tests never see each other's rows."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from hub.db import create_db_engine
from hub.migrate import upgrade
from tests.browser import browser_page

if TYPE_CHECKING:
    from playwright.sync_api import Page

POSTGRES_URL = os.environ.get("PPRL_TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


@contextmanager
def empty_database(backend: str, tmp_dir: Path) -> Iterator[Engine]:
    """An engine on a database nobody else uses, removed afterwards.

    On PostgreSQL that is a fresh schema in the configured database, so parallel runs and
    a developer's own tables are never touched.
    """
    if backend == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_dir / f'{secrets.token_hex(4)}.db'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"pprl_test_{secrets.token_hex(6)}"
    admin = create_db_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The schema travels in the URL, so a CLI given engine.url reaches the same tables.
    separator = "&" if "?" in POSTGRES_URL else "?"
    engine = create_db_engine(f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def database_url(engine: Engine) -> str:
    """The URL of `engine`, password included, for commands run in a subprocess."""
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=BACKENDS)
def db_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database per backend, shared by the session's tests."""
    with empty_database(request.param, tmp_path_factory.mktemp("db")) as engine:
        upgrade(engine)
        yield engine


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of this test's own (not migrated), per backend."""
    with empty_database(request.param, tmp_path) as engine:
        yield engine


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back when the test ends, commits included."""
    connection = db_engine.connect()
    outer = connection.begin()
    db_session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield db_session
    finally:
        db_session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def page() -> Iterator[Page]:
    """A browser page with JavaScript off: the pages must work without it."""
    yield from browser_page(javascript=False)


@pytest.fixture
def js_page() -> Iterator[Page]:
    """A browser page with JavaScript on."""
    yield from browser_page(javascript=True)
