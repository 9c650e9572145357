"""The load test's window, small, on both databases: case managers' questions from several
threads while an agency syncs and a linkage run goes, with no request failing (the first
run of the load benchmark found sync batches failing with "database is locked")."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from benchmarks.bench_load import measure
from tests.conftest import database_url

pytestmark = pytest.mark.e2e


def test_questions_sync_and_linkage_at_once_all_succeed(
    database: Engine,
    tmp_path: Path,
) -> None:
    result = measure(tmp_path, database_url(database), size=300, new=60, seconds=4, threads=4)
    assert dict(result.errors) == {}
    assert result.answered["shared"] > 20
    assert result.answered["caseload"] > 0
    assert result.synced == 60
    assert result.run["status"] == "succeeded", result.run
    assert result.run["kind"] == "incremental"
    with database.connect() as db:
        stored = db.execute(text("SELECT count(*) FROM encoding")).scalar_one()
    assert stored == 3 * 300 + 60  # nothing lost or doubled by the contention
