"""`pprl node run`: the nightly job in one command (encode, then sync), once or on a
schedule, never two at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from linkage_node import run_cli
from linkage_node.synthetic import synthetic_roster
from pprl.cli import app
from tests.hub.live import NODE_SECRET, LiveHub

pytestmark = pytest.mark.live


def _run(tmp: Path, hub: LiveHub, *extra: str) -> tuple[int, str]:
    args = [
        "node",
        "run",
        "--agency",
        "DOC",
        "--hub",
        hub.url,
        "--key-dir",
        str(tmp / "keys"),
        "--secret-file",
        str(tmp / "secret.json"),
        "--input",
        str(tmp / "roster.csv"),
        "--state-dir",
        str(tmp / "node"),
        "--log-public-key",
        str(tmp / "hub.vkey"),
        *extra,
    ]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    return result.exit_code, result.stderr


def _held(hub: LiveHub) -> int:
    with hub.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM encoding")).scalar_one())


@pytest.fixture
def node(hub: LiveHub, tmp_path: Path) -> Path:
    hub.register("DOC", tmp_path / "keys")
    NODE_SECRET.save(tmp_path / "secret.json")
    (tmp_path / "hub.vkey").write_text(hub.log.verifier.vkey())
    return tmp_path


def test_one_run_encodes_and_syncs(hub: LiveHub, node: Path) -> None:
    synthetic_roster(node / "roster.csv", 12)
    code, err = _run(node, hub)
    assert code == 0, err
    assert _held(hub) == 12
    assert "synced 1 runs" in err
    # The encodings file stays in the state directory (a container's /data has a
    # read-only parent).
    assert (node / "node" / "encodings.jsonl").exists()
    assert not list(node.glob("*.jsonl"))
    with hub.engine.connect() as conn:  # the node checked in, for the stale-sync alert
        assert conn.execute(text("SELECT runs FROM sync_check_in")).scalar_one() == 1
    # Nothing changed: the next night's run encodes and sends nothing new.
    code, err = _run(node, hub)
    assert code == 0, err
    assert "0 new, 0 changed" in err


def test_a_second_run_while_one_works_does_nothing(hub: LiveHub, node: Path) -> None:
    synthetic_roster(node / "roster.csv", 5)
    with run_cli.run_lock(node / "node"):
        code, err = _run(node, hub)
    assert code == 1
    assert "another `pprl node run` is working on" in err
    assert "Traceback" not in err
    assert _held(hub) == 0
    assert _run(node, hub)[0] == 0  # the lock went with the first run


def test_on_a_schedule_a_failed_round_is_reported_and_the_next_one_runs(
    hub: LiveHub, node: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # tonight's export arrives while the job waits
        waits.append(seconds)
        synthetic_roster(node / "roster.csv", 7)

    monkeypatch.setattr(run_cli, "pause", sleep)
    code, err = _run(node, hub, "--every", "6h", "--rounds", "2")
    assert code == 0, err
    assert "round 1 failed" in err
    assert "the next round will try again" in err
    assert len(waits) == 1
    assert 6 * 3600 - 60 < waits[0] <= 6 * 3600
    assert _held(hub) == 7


def test_a_period_is_minutes_hours_or_days(hub: LiveHub, node: Path) -> None:
    for bad in ("soon", "1m", "24"):
        code, err = _run(node, hub, "--every", bad)
        assert code == 2, bad
        assert "at least 5m" in err


def test_a_run_writes_the_integrated_sync_report_after_its_sync(hub: LiveHub, node: Path) -> None:
    synthetic_roster(node / "roster.csv", 12)
    code, err = _run(node, hub, "--report-dir", str(node / "cmis"))
    assert code == 0, err
    assert "integrated sync report: 0 of 12 clients shared with another program" in err
    report = json.loads((node / "cmis" / "sync-report.json").read_text())
    assert report["counts"]["clients_asked"] == 12
    assert report["clients"] == []  # DOC is the only agency: nobody else serves them
    header = (node / "cmis" / "shared-clients.csv").read_text().splitlines()[0]
    assert header.startswith("case_number,client_name,case_manager_id,status,program")
