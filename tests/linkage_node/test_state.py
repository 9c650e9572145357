"""The node's state file: named rows, closed by `with`, and a layout version that keeps
an older release from misreading a newer file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from linkage_node.errors import StateError
from linkage_node.state import NodeState
from linkage_node.state_rows import DirectoryEntry
from linkage_node.state_schema import STATE_VERSION


def test_directory_rows_are_named(tmp_path: Path) -> None:
    with NodeState(tmp_path / "state.db", "DCFS") as state:
        state.save_directory([("ab" * 32, "C-1", "Ann Lee", "1990-01-02", "cm-0001")])
        entry = state.client("C-1")
        names = state.clients_by_ref(["ab" * 32])
    assert entry == DirectoryEntry("ab" * 32, "C-1", "Ann Lee", "1990-01-02", "cm-0001")
    assert entry is not None
    assert entry.case_manager_id == "cm-0001"
    assert names["ab" * 32].name == "Ann Lee"


def test_with_closes_the_database(tmp_path: Path) -> None:
    with NodeState(tmp_path / "state.db", "DCFS") as state:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        state.ever_sent()


def test_a_state_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    NodeState(path, "DCFS").close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == STATE_VERSION
        db.execute(f"PRAGMA user_version = {STATE_VERSION + 1}")
    with pytest.raises(StateError, match="newer release") as refused:
        NodeState(path, "DCFS")
    assert "restore a backup" in refused.value.advice()


def test_a_state_from_before_intake_accounts_keeps_its_accounts_and_takes_intake_staff(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:  # the accounts table as the previous release made it
        db.execute(
            "CREATE TABLE staff_account (username TEXT PRIMARY KEY, staff_id TEXT NOT NULL "
            "UNIQUE, role TEXT NOT NULL CHECK (role IN ('case_manager', 'supervisor')), "
            "password_hash TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1, disabled "
            "INTEGER NOT NULL DEFAULT 0)"
        )
        db.execute(
            "INSERT INTO staff_account VALUES ('rreyes', 'cm-0042', 'case_manager', 'h', 3, 0)"
        )
    with NodeState(path, "DCFS") as state:
        kept = state.accounts.get("rreyes")
        state.accounts.save("ilee", "in-0003", "intake", "h2")
        added = state.accounts.get("ilee")
    assert kept is not None
    assert (kept.staff_id, kept.role, kept.version) == ("cm-0042", "case_manager", 3)
    assert added is not None
    assert added.role == "intake"
