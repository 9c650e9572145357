from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import hub.models  # noqa: F401  (registers the tables)
from hub.migrate import current_revision, downgrade, head_revision, upgrade
from tests.conftest import BACKENDS, empty_database


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_at_head_match_the_models_and_downgrade_cleanly(
    backend: str, tmp_path: Path
) -> None:
    with empty_database(backend, tmp_path) as engine:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert diff == []
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)  # and back up again
        assert current_revision(engine) == head_revision()
