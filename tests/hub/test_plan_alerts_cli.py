"""`pprl hub plan-alerts`: the daily sweep from the command line, and what it says when
the hub's keys are not configured."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.db import create_db_engine
from hub.migrate import upgrade
from hub.settings import get_settings
from pprl.cli import app
from tests.hub.api.factories import make_settings


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    make_settings(tmp_path, url)  # writes the log key and the data key
    monkeypatch.setenv("PPRL_DATABASE_URL", url)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_the_sweep_reports_what_it_queued(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PPRL_LOG_KEY_FILE", str(settings_env / "log.key"))
    monkeypatch.setenv("PPRL_DATA_KEY_FILE", str(settings_env / "data.key"))
    result = CliRunner().invoke(app, ["hub", "plan-alerts", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "clients": 0,
        "new_conflicts": 0,
        "newly_stuck": 0,
        "queued": 0,
    }
    assert "0 notifications queued" in result.stderr


def test_without_the_hubs_keys_it_says_which_to_set(settings_env: Path) -> None:
    result = CliRunner().invoke(app, ["hub", "plan-alerts"])
    assert result.exit_code == 1
    assert "PPRL_LOG_KEY_FILE and PPRL_DATA_KEY_FILE" in result.stderr
    assert "Traceback" not in result.output
