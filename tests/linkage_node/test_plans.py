"""Plan milestone exports: validation, per-run diffs, and delivery by sync."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import text

from keys import new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.plans import read_plans
from linkage_node.synthetic import synthetic_roster
from tests.hub.live import LiveHub, node_sync

COLUMNS = [
    "record_id",
    "milestone_id",
    "goal",
    "milestone",
    "activity",
    "target_end",
    "status",
    "stuck_reason",
]
SECRET = new_linkage_secret("2026-11")


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _plans(records: list[str]) -> list[dict[str, str]]:
    base = {
        "goal": "Stable housing",
        "milestone": "Lease signed",
        "activity": "Housing search",
        "target_end": "2027-03-01",
        "status": "in_progress",
        "stuck_reason": "",
    }
    return [{"record_id": r, "milestone_id": f"m{i}", **base} for r in records for i in range(2)]


def test_bad_plan_rows_are_named_without_values(tmp_path: Path) -> None:
    rows = _plans(["R1"])
    rows.append({**rows[0], "milestone_id": "m9", "status": "Jane Planter"})
    rows.append({**rows[0], "milestone_id": "m8", "target_end": "Spring 2027"})
    rows.append({**rows[0]})
    _write(tmp_path / "plans.csv", rows)
    result = read_plans(tmp_path / "plans.csv")
    found = {(i.line, i.column, i.rule) for i in result.issues}
    assert found == {
        (4, "status", "status.unknown"),
        (5, "target_end", "target_end.unparseable"),
        (6, "milestone_id", "milestone.duplicate"),
    }
    assert len(result.milestones) == 2
    assert all("Jane" not in f"{i.line}{i.column}{i.rule}" for i in result.issues)


def run_linkage(tmp: Path, roster: Path, plans: Path) -> tuple[int, int]:
    result = run_encoding_job(
        agency_id="DCFS",
        schema=load_schema(),
        secret=SECRET,
        roster_path=roster,
        output=tmp / "out.jsonl",
        state_dir=tmp / "DCFS",
        workers=1,
        plans_path=plans,
    )
    return result.plan_changes, result.plan_removals


def test_plan_changes_are_per_milestone(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    ids = [r["record_id"] for r in synthetic_roster(roster, 5)]
    rows = _plans(ids)
    _write(tmp_path / "plans.csv", rows)
    assert run_linkage(tmp_path, roster, tmp_path / "plans.csv") == (10, 0)
    assert run_linkage(tmp_path, roster, tmp_path / "plans.csv") == (0, 0)
    rows[3]["status"] = "stuck"
    rows[3]["stuck_reason"] = "Waiting list"
    _write(tmp_path / "plans.csv", rows[:-1])
    assert run_linkage(tmp_path, roster, tmp_path / "plans.csv") == (1, 1)


@pytest.mark.live
def test_sync_delivers_milestones(hub: LiveHub, tmp_path: Path) -> None:
    hub.register("DCFS")
    roster = tmp_path / "roster.csv"
    ids = [r["record_id"] for r in synthetic_roster(roster, 5)]
    _write(tmp_path / "plans.csv", _plans(ids))
    run_encoding_job(
        agency_id="DCFS",
        schema=load_schema(),
        secret=new_linkage_secret("2026-11"),
        roster_path=roster,
        output=tmp_path / "out.jsonl",
        state_dir=tmp_path / "DCFS",
        workers=1,
        plans_path=tmp_path / "plans.csv",
    )
    report = node_sync(hub, tmp_path)
    assert report.records["milestones"] == 10
    with hub.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM milestone")).scalar_one() == 10
