"""The node's local state: which records it has encoded, so the next run sends only the
difference. A SQLite file in the node's state directory, next to its reference key.

Per record: its reference, its case number (the node's private mapping), the hash of its
normalised identifying fields, the last CLK, and the context (secret epoch and schema
fingerprint) that CLK was made under. A record is `new` if its reference is unknown,
`changed` if its content hash or context differ, `removed` if a previously sent record is
absent from the roster. Each run's changes are kept as an outbox for `pprl node sync`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from linkage_node.errors import StateError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS node (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    agency_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS record (
    ref TEXT PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    content_hash BLOB NOT NULL,
    clk BLOB NOT NULL,
    context TEXT NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS run (
    run_id INTEGER PRIMARY KEY,
    finished_at TEXT NOT NULL,
    context TEXT NOT NULL,
    rows INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    new INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    unchanged INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS change (
    run_id INTEGER NOT NULL REFERENCES run(run_id),
    ref TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('upsert', 'remove')),
    PRIMARY KEY (run_id, ref)
);
"""


@dataclass(frozen=True)
class Known:
    """What the state remembers of one record."""

    content_hash: bytes
    clk: bytes
    context: str
    removed: bool


@dataclass(frozen=True)
class Diff:
    """The changes one run found."""

    new: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int

    @property
    def empty(self) -> bool:
        """True when nothing needs to be sent."""
        return not (self.new or self.changed or self.removed)


class NodeState:
    """The state database of one agency node."""

    def __init__(self, path: Path, agency_id: str) -> None:
        fresh = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT agency_id FROM node").fetchone()
        if row is None:
            self._db.execute("INSERT INTO node (id, agency_id) VALUES (1, ?)", (agency_id,))
        elif row[0] != agency_id:
            raise StateError(
                f"the state in {path} belongs to agency {row[0]}, not {agency_id}",
                "Use the state directory of this agency (--state-dir).",
            )
        self.fresh = fresh

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def known(self) -> dict[str, Known]:
        """Every record the node has ever encoded, by reference."""
        return {
            ref: Known(bytes(h), bytes(clk), ctx, bool(removed))
            for ref, h, clk, ctx, removed in self._db.execute(
                "SELECT ref, content_hash, clk, context, removed FROM record"
            )
        }

    def record_run(
        self,
        *,
        context: str,
        counts: dict[str, int],
        upserts: Iterable[tuple[str, str, bytes, bytes]],
        removed: Iterable[str],
    ) -> int:
        """Store one run's results in a single transaction; returns the run id.

        `upserts` are (ref, record_id, content_hash, clk) of new and changed records.
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cursor = db.execute(
                "INSERT INTO run (finished_at, context, rows, accepted, rejected, new, changed, "
                "removed, unchanged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    context,
                    counts["rows"],
                    counts["accepted"],
                    counts["rejected"],
                    counts["new"],
                    counts["changed"],
                    counts["removed"],
                    counts["unchanged"],
                ),
            )
            run_id = int(cursor.lastrowid or 0)
            rows = list(upserts)
            gone = [(ref,) for ref in removed]
            db.executemany(
                "INSERT INTO record (ref, record_id, content_hash, clk, context, removed) "
                "VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT(ref) DO UPDATE SET "
                "record_id = excluded.record_id, content_hash = excluded.content_hash, "
                "clk = excluded.clk, context = excluded.context, removed = 0",
                [(ref, record_id, h, clk, context) for ref, record_id, h, clk in rows],
            )
            db.executemany(
                "INSERT INTO change (run_id, ref, op) VALUES (?, ?, 'upsert')",
                [(run_id, ref) for ref, _, _, _ in rows],
            )
            db.executemany("UPDATE record SET removed = 1 WHERE ref = ?", gone)
            db.executemany(
                "INSERT INTO change (run_id, ref, op) VALUES (?, ?, 'remove')",
                [(run_id, ref) for (ref,) in gone],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return run_id

    def changes(self, run_id: int) -> list[tuple[str, str]]:
        """(ref, op) recorded by a run, sorted by reference."""
        return list(
            self._db.execute("SELECT ref, op FROM change WHERE run_id = ? ORDER BY ref", (run_id,))
        )
