"""Provisional records (issue 19): a person met at intake, registered by the steward,
travels with the next run like a roster row, is not counted as a roster row, and when it
expires or is removed it is removed at the hub (never kept as history)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from linkage_node import read_encodings
from linkage_node.intake import Identifiers, IntakeError
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.synthetic import synthetic_roster
from pprl.cli import app
from tests.linkage_node.jobs import TODAY, encode

PERSON = Identifiers("Quillonette", "Zarbowicz", "1983-07-19", ssn="123-45-6789")


def _state(tmp: Path) -> NodeState:
    return NodeState(tmp / "DOC" / STATE_FILE, "DOC")


def test_a_provisional_record_is_sent_with_the_next_run_and_removed_when_it_expires(
    tmp_path: Path,
) -> None:
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 20)
    encode(tmp_path, roster)
    with _state(tmp_path) as state:
        record_id = state.provisional.add(PERSON, added_by="st-0001", today=TODAY, days=30)
    sent = encode(tmp_path, roster)
    assert (sent.diff.new, sent.roster.rows) == (1, 20)  # not a roster row
    header, records = read_encodings(tmp_path / "out.jsonl")
    assert header.record_count == len(dict(records)) == 21
    with _state(tmp_path) as state:
        assert state.client(record_id) is not None
        upserts = [c for c in state.changes(sent.run_id) if c.op == "upsert"]
        assert len(upserts) == 1
    # Still listed: nothing to send.
    assert encode(tmp_path, roster, today=TODAY + timedelta(days=29)).diff.empty
    # Expired: removed at the hub, not kept as an enrollment that ended.
    gone = encode(tmp_path, roster, today=TODAY + timedelta(days=30))
    assert gone.diff.removed == 1
    with _state(tmp_path) as state:
        ops = {c.op for c in state.changes(gone.run_id)}
    assert ops == {"remove"}


def test_identifiers_that_cannot_be_matched_are_not_registered(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 5)
    encode(tmp_path, roster)
    with _state(tmp_path) as state, pytest.raises(IntakeError) as caught:
        state.provisional.add(
            Identifiers("Quillonette", "", "sometime"), added_by="st-0001", today=TODAY, days=30
        )
    assert "sometime" not in str(caught.value)
    with _state(tmp_path) as state:
        assert state.provisional.listed() == []


def test_the_steward_adds_lists_and_removes_from_the_command_line(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 5)
    encode(tmp_path, roster)
    runner, where = CliRunner(), ["--agency", "DOC", "--state-dir", str(tmp_path / "DOC")]
    added = runner.invoke(
        app,
        [
            "node",
            "provisional",
            "add",
            *where,
            "--added-by",
            "st-0001",
            "--given",
            "Quillonette",
            "--family",
            "Zarbowicz",
            "--dob",
            "1983-07-19",
        ],
    )
    assert added.exit_code == 0, added.output
    record_id = added.stdout.strip()
    assert record_id.startswith("provisional-")
    listed = runner.invoke(app, ["node", "provisional", "list", *where])
    assert "Quillonette Zarbowicz" in listed.stdout
    removed = runner.invoke(
        app, ["node", "provisional", "remove", *where, "--record-id", record_id]
    )
    assert removed.exit_code == 0, removed.output
    again = runner.invoke(app, ["node", "provisional", "remove", *where, "--record-id", record_id])
    assert again.exit_code == 4
    bad = runner.invoke(
        app,
        [
            "node",
            "provisional",
            "add",
            *where,
            "--added-by",
            "st-0001",
            "--given",
            "Q",
            "--family",
            "",
            "--dob",
            "sometime",
        ],
    )
    assert bad.exit_code == 3
    assert "sometime" not in bad.output
    assert "Traceback" not in bad.output
    nowhere = runner.invoke(
        app, ["node", "provisional", "list", "--agency", "DOC", "--state-dir", str(tmp_path / "x")]
    )
    assert nowhere.exit_code != 0
    assert "pprl node encode" in nowhere.output
    assert not (tmp_path / "x").exists()
