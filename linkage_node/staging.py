"""Tonight's roster, staged on disk so the job's memory does not grow with the roster.

The encoding job streams the export chunk by chunk into a scratch SQLite database inside
the node's state folder (its own 0700 folder, removed when the job ends, whatever happens):
each accepted row's reference, case number, content hash, case manager, exported name and
date of birth, and the CLK of the rows that need one. What changed since the last run
(new, changed, removed, reassigned) is then a few SQL queries against the state, read
through a read-only attachment; the state itself is written only after every guard has
passed (`NodeState.record_staged_run`).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

_SCHEMA = """
CREATE TABLE staged (
    line INTEGER NOT NULL,
    chunk INTEGER NOT NULL,
    ref TEXT PRIMARY KEY,
    record_id TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    case_manager_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    enrolled_on TEXT NOT NULL DEFAULT '',
    exited_on TEXT NOT NULL DEFAULT '',
    household_id TEXT NOT NULL DEFAULT '',
    household_role TEXT NOT NULL DEFAULT '',
    member_only INTEGER NOT NULL DEFAULT 0,
    extra TEXT NOT NULL DEFAULT '{}',
    clk BLOB,
    status TEXT NOT NULL DEFAULT 'unchanged'
);
CREATE INDEX staged_chunk ON staged (chunk);
CREATE INDEX staged_line ON staged (line);
CREATE TABLE kept (ref TEXT PRIMARY KEY);
CREATE TABLE gone (
    ref TEXT PRIMARY KEY, case_manager_id TEXT NOT NULL, remove INTEGER NOT NULL
);
CREATE TABLE assign (ref TEXT PRIMARY KEY, case_manager_id TEXT NOT NULL);
"""
# What a fresh node knows: nothing (the same shape as the state's record table).
_NOTHING_KNOWN = """
CREATE TABLE state.record (
    ref TEXT PRIMARY KEY, record_id TEXT, content_hash BLOB, clk BLOB, context TEXT,
    case_manager_id TEXT, removed INTEGER, exited_on TEXT, extra TEXT
);
"""

StagedRow = tuple[int, str, str, bytes, str, str, str, str, str, str, str, int, str]


class Staging:
    """The scratch database of one job (a context manager)."""

    def __init__(self, state_dir: Path, state_file: Path) -> None:
        prefix = ".pprl-staging-"
        # A job killed outright (power, SIGKILL) leaves its scratch folder: the next job
        # removes it, since it holds names and dates of birth.
        for stale in state_dir.glob(f"{prefix}*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.directory = Path(tempfile.mkdtemp(prefix=prefix, dir=state_dir))
        self.path = self.directory / "staged.db"
        self._db = sqlite3.connect(self.path, isolation_level=None, uri=True)
        # Scratch data: a crash loses nothing that the next run would not rebuild.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.executescript(_SCHEMA)
        if state_file.exists():
            self._db.execute("ATTACH DATABASE ? AS state", (f"file:{state_file}?mode=ro",))
        else:
            self._db.execute("ATTACH DATABASE ':memory:' AS state")
            self._db.executescript(_NOTHING_KNOWN)

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Drop the scratch database (it holds names and dates of birth)."""
        self._db.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def release(self) -> None:
        """Let go of the state database, so the job can write it."""
        self._db.execute("DETACH DATABASE state")

    def add(self, chunk: int, rows: list[StagedRow]) -> None:
        """Stage accepted rows: (line, ref, record_id, content_hash, case_manager_id,
        display name, date of birth, enrolled on, exited on, household id, household role,
        member only, extra: what the hub is sent besides the CLK and dates, as JSON)."""
        self._db.executemany(
            "INSERT INTO staged (line, chunk, ref, record_id, content_hash, case_manager_id, "
            "display_name, date_of_birth, enrolled_on, exited_on, household_id, "
            "household_role, member_only, extra) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r[0], chunk, *r[1:]) for r in rows],
        )

    def todo(self, chunk: int, context: str) -> list[tuple[str, str]]:
        """(ref, 'new' or 'changed') of the chunk's rows that need encoding."""
        return [
            (str(ref), str(status))
            for ref, status in self._db.execute(
                "SELECT s.ref, CASE WHEN r.ref IS NULL OR r.removed = 1 THEN 'new' "
                "ELSE 'changed' END FROM staged s LEFT JOIN state.record r ON r.ref = s.ref "
                "WHERE s.chunk = ? AND (r.ref IS NULL OR r.removed = 1 OR r.context != ? "
                "OR r.content_hash != s.content_hash OR r.exited_on != s.exited_on)",
                (chunk, context),
            )
        ]

    def encoded(self, rows: list[tuple[bytes, str, str]]) -> None:
        """Store (clk, status, ref) of rows just encoded."""
        self._db.executemany("UPDATE staged SET clk = ?, status = ? WHERE ref = ?", rows)

    def exited(self) -> set[str]:
        """References of tonight's rows whose client has left the program."""
        return {str(r) for (r,) in self._db.execute("SELECT ref FROM staged WHERE exited_on != ''")}

    def keep(self, refs: list[str]) -> None:
        """References of rejected rows: known records keep their last good encoding."""
        self._db.executemany("INSERT OR IGNORE INTO kept VALUES (?)", [(r,) for r in refs])

    def live(self) -> int:
        """Current records: known, not removed, not exited."""
        return int(
            self._db.execute(
                "SELECT count(*) FROM state.record WHERE removed = 0 AND exited_on = ''"
            ).fetchone()[0]
        )

    def find_removals(self, *, keep_history: bool = True) -> int:
        """Known records absent from tonight's export (rejected rows excepted). With
        `keep_history`, those are the current ones (they exit; an exited record missing
        from the export stays history); without, every one (they are removed)."""
        # A provisional record that is no longer listed was never an enrollment: it is
        # removed, not kept as history (linkage_node.provisional). Nor is a family member
        # the agency never served.
        self._db.execute(
            "INSERT INTO gone SELECT ref, case_manager_id, "
            "CASE WHEN ? = 0 OR record_id LIKE 'provisional-%' "
            "OR json_extract(extra, '$.member_only') THEN 1 ELSE 0 END "
            "FROM state.record r WHERE removed = 0 "
            "AND (exited_on = '' OR ? = 0) "
            "AND NOT EXISTS (SELECT 1 FROM staged s WHERE s.ref = r.ref) "
            "AND NOT EXISTS (SELECT 1 FROM kept k WHERE k.ref = r.ref)",
            (int(keep_history), int(keep_history)),
        )
        return int(self._db.execute("SELECT count(*) FROM gone").fetchone()[0])

    def gone(self) -> set[str]:
        """References of the records found missing (`find_removals`)."""
        return {str(r) for (r,) in self._db.execute("SELECT ref FROM gone")}

    def find_assignments(self) -> int:
        """Case-manager changes to send (a change travels even when the identifying fields
        did not change; a removed client is unassigned); returns how many are on records
        not otherwise sent (reassigned)."""
        self._db.execute(
            "INSERT INTO assign SELECT s.ref, s.case_manager_id FROM staged s "
            "LEFT JOIN state.record r ON r.ref = s.ref "
            "WHERE (r.ref IS NULL OR r.removed = 1 OR r.case_manager_id != s.case_manager_id) "
            "AND (s.case_manager_id != '' OR (r.ref IS NOT NULL AND r.case_manager_id != ''))"
        )
        self._db.execute("INSERT INTO assign SELECT ref, '' FROM gone WHERE case_manager_id != ''")
        return int(
            self._db.execute(
                "SELECT count(*) FROM assign a JOIN staged s ON s.ref = a.ref WHERE s.clk IS NULL"
            ).fetchone()[0]
        )

    def counts(self) -> dict[str, int]:
        """Staged rows by status, and the removals."""
        found = dict(self._db.execute("SELECT status, count(*) FROM staged GROUP BY status"))
        gone = self._db.execute("SELECT count(*) FROM gone").fetchone()[0]
        return {
            "new": int(found.get("new", 0)),
            "changed": int(found.get("changed", 0)),
            "unchanged": int(found.get("unchanged", 0)),
            "removed": int(gone),
        }

    def encodings(self) -> Iterator[tuple[str, bytes]]:
        """(ref, CLK) of every staged row in export order (unchanged ones from the state)."""
        for ref, clk in self._db.execute(
            "SELECT s.ref, COALESCE(s.clk, r.clk) FROM staged s "
            "LEFT JOIN state.record r ON r.ref = s.ref ORDER BY s.line"
        ):
            yield str(ref), bytes(clk)
