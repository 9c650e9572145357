"""`pprl hub purge-history`: the retention job says what it purges, counts only with
`--dry-run`, and never touches current records or recent history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from typer.testing import CliRunner

from hub.db import create_db_engine
from hub.migrate import upgrade
from hub.models import Agency, Encoding, EncodingRemoval
from hub.settings import get_settings
from pprl.cli import app

TODAY = datetime.now(UTC).date()


@pytest.fixture
def hub_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    exits: dict[str, date | None] = {
        "current": None,
        "recent": TODAY - timedelta(days=400),
        "old-1": TODAY - timedelta(days=2600),
        "old-2": TODAY - timedelta(days=3000),
    }
    with Session(engine) as session:
        session.add(Agency(agency_id="DOC", registered_at=now))
        session.flush()
        for label, exited_on in exits.items():
            session.add(
                Encoding(
                    agency_id="DOC",
                    ref=label.ljust(64, "0"),
                    clk=bytes(128),
                    epoch="2026-11",
                    schema_fingerprint="ab" * 32,
                    updated_at=now,
                    exited_on=exited_on,
                )
            )
        session.commit()
    engine.dispose()
    monkeypatch.setenv("PPRL_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _held(url: str) -> tuple[int, int]:
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            encodings = session.execute(select(func.count()).select_from(Encoding)).scalar_one()
            removals = session.execute(
                select(func.count()).select_from(EncodingRemoval)
            ).scalar_one()
            return int(encodings), int(removals)
    finally:
        engine.dispose()


def test_a_dry_run_counts_and_a_run_purges_history_past_retention(hub_db: str) -> None:
    runner = CliRunner()
    counted = runner.invoke(app, ["hub", "purge-history", "--dry-run", "--json"])
    assert counted.exit_code == 0, counted.output
    assert json.loads(counted.stdout)["purged"] == {"DOC": 2}
    assert "would purge 2 records" in counted.stderr
    assert "run again without --dry-run" in counted.stderr
    assert _held(hub_db) == (4, 0)
    purged = runner.invoke(app, ["hub", "purge-history"])
    assert purged.exit_code == 0, purged.output
    cutoff = (TODAY - timedelta(days=2557)).isoformat()
    assert f"purged 2 records that exited before {cutoff} (DOC 2)" in purged.stderr
    assert _held(hub_db) == (2, 2)  # the current record and recent history stay
    # A shorter period, asked for explicitly, reaches the recent exit too.
    shorter = runner.invoke(app, ["hub", "purge-history", "--older-than-days", "365"])
    assert shorter.exit_code == 0, shorter.output
    assert _held(hub_db) == (1, 3)


def test_a_period_under_a_year_is_refused(hub_db: str) -> None:
    result = CliRunner().invoke(app, ["hub", "purge-history", "--older-than-days", "30"])
    assert result.exit_code == 2
    assert _held(hub_db) == (4, 0)
