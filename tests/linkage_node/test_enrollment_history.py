"""Enrollment history at the node (issue 19): a roster's enrollment and exit dates travel
with the encoding, an exited client is unassigned and their plan withdrawn, and a client
missing from the export exits (kept as history) instead of being removed, unless the
steward says `--missing remove`."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from linkage_node import load_schema, run_encoding_job
from linkage_node.job import STATE_FILE, JobResult, Missing
from linkage_node.state import NodeState
from linkage_node.state_rows import Change, PendingRun
from linkage_node.state_schema import STATE_VERSION
from linkage_node.sync import _encodings_body
from linkage_node.synthetic import synthetic_roster, write_roster
from tests.hub.live import NODE_SECRET, LiveHub, encode_and_sync, node_sync
from tests.linkage_node.jobs import encode

PLAN_COLUMNS = ["record_id", "milestone_id", "goal", "milestone", "status"]


def _run(
    tmp: Path, roster: Path, *, missing: Missing = "exit", plans: Path | None = None
) -> JobResult:
    return encode(tmp, roster, missing=missing, plans_path=plans)


def _changes(tmp: Path, run_id: int) -> list[Change]:
    with NodeState(tmp / "DOC" / STATE_FILE, "DOC") as state:
        return state.changes(run_id)


def _clks(tmp: Path) -> dict[str, bytes]:
    with sqlite3.connect(tmp / "DOC" / STATE_FILE) as db:
        return {str(ref): bytes(clk) for ref, clk in db.execute("SELECT ref, clk FROM record")}


def _write_plans(path: Path, record_ids: list[str]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=PLAN_COLUMNS)
        writer.writeheader()
        for record_id in record_ids:
            writer.writerow(
                {
                    "record_id": record_id,
                    "milestone_id": "m1",
                    "goal": "Complete supervision",
                    "milestone": "Report to officer",
                    "status": "in_progress",
                }
            )


def test_exit_dates_travel_with_the_encoding_and_the_exited_client_is_unassigned(
    tmp_path: Path,
) -> None:
    roster, plans = tmp_path / "roster.csv", tmp_path / "plans.csv"
    rows = synthetic_roster(roster, 5)
    _write_plans(plans, [r["record_id"] for r in rows])
    _run(tmp_path, roster, plans=plans)
    rows[1].update(enrolled_on="2023-01-10", exited_on="2025-06-30")
    write_roster(roster, rows)
    result = _run(tmp_path, roster, plans=plans)
    assert (result.diff.changed, result.diff.removed) == (1, 0)
    # The plan export still lists the exited client's milestone: it is withdrawn anyway.
    assert (result.plan_changes, result.plan_removals) == (0, 1)
    changes = _changes(tmp_path, result.run_id)
    ops = sorted(c.op for c in changes)
    assert ops == ["unassign", "unplan", "upsert"]
    assert len({c.ref for c in changes}) == 1
    body = _encodings_body(_pending(tmp_path), changes)
    (upsert,) = body["upserts"]
    assert (upsert["enrolled_on"], upsert["exited_on"]) == ("2023-01-10", "2025-06-30")
    assert body["removals"] == []


def _pending(tmp: Path) -> PendingRun:
    with NodeState(tmp / "DOC" / STATE_FILE, "DOC") as state:
        return state.pending_runs()[-1]


def test_a_client_missing_from_the_export_exits_today_and_stays_as_history(
    tmp_path: Path,
) -> None:
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 40)
    _run(tmp_path, roster)
    before = _clks(tmp_path)
    write_roster(roster, rows[:-3])
    left = _run(tmp_path, roster)
    assert left.diff.removed == 3
    changes = _changes(tmp_path, left.run_id)
    assert {c.op for c in changes} == {"upsert", "unassign"}
    upserts = [c for c in changes if c.op == "upsert"]
    assert len(upserts) == 3
    assert all(json.loads(c.payload or "{}") == {"exited_on": "2026-12-01"} for c in upserts)
    assert all(c.clk == before[c.ref] for c in upserts)  # the last encoding, as history
    # History is not "missing" again on the next run, and is never removed by absence.
    assert _run(tmp_path, roster).diff.empty
    # Back on the roster: current again (the exit date is cleared at the hub).
    write_roster(roster, rows)
    back = _run(tmp_path, roster)
    assert (back.diff.new, back.diff.changed) == (0, 3)
    back_upserts = [c for c in _changes(tmp_path, back.run_id) if c.op == "upsert"]
    assert all(c.payload is None for c in back_upserts)


def test_missing_remove_deletes_the_records_history_included(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 40)
    rows[0]["exited_on"] = "2024-02-02"
    write_roster(roster, rows)
    _run(tmp_path, roster)
    write_roster(roster, rows[2:])
    result = _run(tmp_path, roster, missing="remove")
    assert result.diff.removed == 2
    removed = [c.ref for c in _changes(tmp_path, result.run_id) if c.op == "remove"]
    assert len(removed) == 2


def test_a_layout_3_state_is_upgraded_in_place(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 5)
    _run(tmp_path, roster)
    with sqlite3.connect(tmp_path / "DOC" / STATE_FILE) as db:
        db.execute("ALTER TABLE record DROP COLUMN exited_on")
        db.execute("PRAGMA user_version = 3")
    assert _run(tmp_path, roster).diff.empty
    with sqlite3.connect(tmp_path / "DOC" / STATE_FILE) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == STATE_VERSION
        assert db.execute("SELECT count(*) FROM record WHERE exited_on = ''").fetchone()[0] == 5


@pytest.mark.live
def test_an_exit_reaches_the_hub_as_history(hub: LiveHub, tmp_path: Path) -> None:
    hub.register("DOC")
    rows = synthetic_roster(tmp_path / "first.csv", 10)
    encode_and_sync(hub, tmp_path, "DOC", rows)
    rows[4]["exited_on"] = "2026-10-31"
    write_roster(tmp_path / "DOC.csv", rows)
    run_encoding_job(
        agency_id="DOC",
        schema=load_schema(),
        secret=NODE_SECRET,
        roster_path=tmp_path / "DOC.csv",
        output=tmp_path / "DOC.jsonl",
        state_dir=tmp_path / "DOC",
        workers=1,
    )
    node_sync(hub, tmp_path, "DOC")
    with hub.engine.connect() as conn:
        held = conn.execute(text("SELECT count(*) FROM encoding")).scalar_one()
        exited = conn.execute(
            text("SELECT exited_on FROM encoding WHERE exited_on IS NOT NULL")
        ).all()
        assigned = conn.execute(text("SELECT count(*) FROM assignment")).scalar_one()
    assert held == 10  # kept as history, not removed
    assert [str(row[0]) for row in exited] == ["2026-10-31"]
    assert assigned == sum(1 for r in rows if r["case_manager_id"]) - (
        1 if rows[4]["case_manager_id"] else 0
    )
