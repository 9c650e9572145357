"""The node's local state: which records it has encoded and sent, so the next run and the
next sync carry only the difference. A SQLite file in the node's state directory, next
to its reference key.

Per record: its reference, its case number (the node's private mapping), the hash of its
normalised identifying fields, the last CLK, the context (secret epoch and schema
fingerprint) that CLK was made under, and its case manager. A record is `new` if its
reference is unknown, `changed` if its content hash or context differ, `removed` if a
previously sent record is absent from the roster.

Each run's changes are an outbox for `pprl node sync`, stored with the exact CLK and case
manager of that run, so the batches built from them are the same however often a sync
is retried; acknowledged batches are recorded so a retry skips them.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from linkage_node import consent_forms, staff_accounts
from linkage_node import provisional as provisional_table
from linkage_node.consent_forms import ConsentForms
from linkage_node.errors import StateError
from linkage_node.private_files import private_file
from linkage_node.provisional import ProvisionalRecords
from linkage_node.staff_accounts import StaffAccounts
from linkage_node.state_rows import (
    Change,
    ClientName,
    DirectoryEntry,
    PendingRun,
    RunRecord,
)
from linkage_node.state_schema import SCHEMA, STATE_VERSION


class NodeState:
    """The state database of one agency node."""

    def __init__(self, path: Path, agency_id: str) -> None:
        fresh = not path.exists()
        self._db = sqlite3.connect(private_file(path), isolation_level=None)
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > STATE_VERSION:
            self._db.close()
            raise StateError(
                f"the state in {path} was written by a newer release (layout {version})",
                "Run that release, or restore a backup this release wrote.",
            )
        _add_columns(self._db)
        self._db.executescript(
            SCHEMA + staff_accounts.SCHEMA + consent_forms.SCHEMA + provisional_table.SCHEMA
        )
        staff_accounts.upgrade(self._db)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(node)")}
        if "installation_id" not in columns:  # a state made before installation ids
            self._db.execute("ALTER TABLE node ADD COLUMN installation_id TEXT")
        row = self._db.execute("SELECT agency_id, installation_id FROM node").fetchone()
        if row is None:
            self._db.execute("INSERT INTO node (id, agency_id) VALUES (1, ?)", (agency_id,))
        elif row[0] != agency_id:
            raise StateError(
                f"the state in {path} belongs to agency {row[0]}, not {agency_id}",
                "Use the state directory of this agency (--state-dir).",
            )
        if row is None or row[1] is None:
            self.new_installation()
        self._db.execute(f"PRAGMA user_version = {STATE_VERSION}")
        self.fresh = fresh

    def __enter__(self) -> NodeState:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def installation_id(self) -> str:
        """This copy of the state's id, part of every idempotency key it sends: a state
        restored from a backup, or made afresh, counts its runs from an earlier number
        again, and must never reuse a key the hub already holds for other content."""
        row = self._db.execute("SELECT installation_id FROM node").fetchone()
        return str(row[0])

    def new_installation(self) -> str:
        """Give this state a new installation id (a new state, or one just restored)."""
        value = secrets.token_hex(6)
        self._db.execute("UPDATE node SET installation_id = ?", (value,))
        return value

    def resend_all(self) -> None:
        """Make the next run send every current record, assignment and milestone again.
        After a restore the hub may hold a newer picture than the backup (runs synced
        since); sending everything again (upserts, harmless when unchanged) brings the two
        back together."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # No real content hash is empty, no staff id is NUL: every live row differs.
            self._db.execute("UPDATE record SET content_hash = x'', case_manager_id = char(0)")
            self._db.execute("UPDATE milestone SET content_hash = x''")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def ever_sent(self) -> bool:
        """Whether the hub ever acknowledged a batch from this state (or the one it was
        restored from): a state that never did is new to the hub."""
        return self._db.execute("SELECT 1 FROM sent_batch LIMIT 1").fetchone() is not None

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def save_directory(self, rows: Sequence[tuple[object, ...]]) -> None:
        """Replace the client directory: (ref, record_id, display name, date of birth,
        case manager[, household id, role, member only]) of every current record. It never
        leaves the node: the pages show case managers their own clients by name while the
        hub sees only references."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM client_directory")
            db.executemany(
                _INSERT_DIRECTORY,
                [(*row, "", "", 0)[:8] for row in rows],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def client(self, record_id: str) -> DirectoryEntry | None:
        """One current record's directory entry (a client, or a family member listed
        with `member_only`)."""
        row = self._db.execute(
            _SELECT_DIRECTORY + " WHERE record_id = ?",
            (record_id,),
        ).fetchone()
        return None if row is None else _entry(row)

    def directory(self) -> list[DirectoryEntry]:
        """Every current record, by case number."""
        return [_entry(r) for r in self._db.execute(_SELECT_DIRECTORY + " ORDER BY record_id")]

    def household_of(self, ref: str) -> list[DirectoryEntry]:
        """The other members of the household `ref` belongs to (none when it is in none),
        in the roster's order of roles and case numbers."""
        return [
            _entry(r)
            for r in self._db.execute(
                _SELECT_DIRECTORY + " WHERE household_id != '' "  # noqa: S608
                "AND household_id = (SELECT household_id FROM client_directory WHERE ref = ?) "
                "AND ref != ? ORDER BY household_role, record_id",
                (ref, ref),
            )
        ]

    def clients_by_ref(self, refs: list[str]) -> dict[str, ClientName]:
        """ref -> the client's case number, name and date of birth, for the given
        references (a caseload: a few hundred at most, one indexed lookup each)."""
        out: dict[str, ClientName] = {}
        for ref in refs:
            row = self._db.execute(
                "SELECT record_id, display_name, date_of_birth FROM client_directory WHERE ref = ?",
                (ref,),
            ).fetchone()
            if row is not None:
                out[ref] = ClientName(*row)
        return out

    @property
    def accounts(self) -> StaffAccounts:
        """The staff accounts of the node's pages."""
        return StaffAccounts(self._db)

    @property
    def consent_forms(self) -> ConsentForms:
        """The consent forms this node recorded (case numbers and scans stay here)."""
        return ConsentForms(self._db)

    @property
    def provisional(self) -> ProvisionalRecords:
        """People registered at intake before the agency's export lists them."""
        return ProvisionalRecords(self._db)

    def record_id_of(self, ref: str) -> str | None:
        """The case number behind a reference, current or removed."""
        row = self._db.execute("SELECT record_id FROM record WHERE ref = ?", (ref,)).fetchone()
        return None if row is None else str(row[0])

    def record_run(
        self, run: RunRecord, staging: Path, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Store one run in a single transaction, its records read from the job's staging
        database (linkage_node.staging): the client directory, new and changed records
        with their CLKs, removals, case-manager changes and plans, each with its outbox
        rows for the sync. Returns the run id; `progress(done, total)` after each step."""
        db = self._db
        context = f"{run.epoch}|{run.schema_fingerprint}"
        db.execute("ATTACH DATABASE ? AS staging", (str(staging),))
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                run_id = self._insert_run(run)
                steps = _staged_statements(run_id, context, run.missing_exit_on)
                for done, (sql, params) in enumerate(steps, 1):
                    db.execute(sql, params)
                    if progress is not None:
                        progress(done, len(steps))
                db.executemany(
                    "INSERT INTO milestone (ref, milestone_id, content_hash, removed) "
                    "VALUES (?, ?, ?, 0) ON CONFLICT(ref, milestone_id) DO UPDATE SET "
                    "content_hash = excluded.content_hash, removed = 0",
                    [(ref, mid, h) for ref, mid, h, _ in run.plans],
                )
                db.executemany(
                    "INSERT INTO change (run_id, ref, op, item, payload) "
                    "VALUES (?, ?, 'plan', ?, ?)",
                    [(run_id, ref, mid, payload) for ref, mid, _, payload in run.plans],
                )
                db.executemany(
                    "UPDATE milestone SET removed = 1 WHERE ref = ? AND milestone_id = ?",
                    run.plan_removals,
                )
                db.executemany(
                    "INSERT INTO change (run_id, ref, op, item) VALUES (?, ?, 'unplan', ?)",
                    [(run_id, ref, mid) for ref, mid in run.plan_removals],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.execute("DETACH DATABASE staging")
        return run_id

    def _insert_run(self, run: RunRecord) -> int:
        c = run.counts
        cursor = self._db.execute(
            "INSERT INTO run (finished_at, epoch, schema_fingerprint, canary, rows, accepted, "
            "rejected, new, changed, removed, unchanged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                datetime.now(UTC).isoformat(timespec="seconds"),
                run.epoch,
                run.schema_fingerprint,
                run.canary,
                c["rows"],
                c["accepted"],
                c["rejected"],
                c["new"],
                c["changed"],
                c["removed"],
                c["unchanged"],
            ),
        )
        return int(cursor.lastrowid or 0)

    def known_plans(self) -> dict[tuple[str, str], tuple[bytes, bool]]:
        """Every milestone ever sent: (ref, milestone id) -> (content hash, removed)."""
        return {
            (ref, mid): (bytes(h), bool(removed))
            for ref, mid, h, removed in self._db.execute(
                "SELECT ref, milestone_id, content_hash, removed FROM milestone"
            )
        }

    def changes(self, run_id: int) -> list[Change]:
        """The outbox of a run, in a fixed order (so batches are the same every time)."""
        return [
            Change(ref, op, bytes(clk) if clk is not None else None, cm, item, payload)
            for ref, op, clk, cm, item, payload in self._db.execute(
                "SELECT ref, op, clk, case_manager_id, item, payload FROM change "
                "WHERE run_id = ? ORDER BY op, ref, item",
                (run_id,),
            )
        ]

    def pending_runs(self) -> list[PendingRun]:
        """Runs not yet fully acknowledged by the hub, oldest first."""
        return [
            PendingRun(run_id, epoch, fingerprint, bytes(canary))
            for run_id, epoch, fingerprint, canary in self._db.execute(
                "SELECT run_id, epoch, schema_fingerprint, canary FROM run "
                "WHERE synced_at IS NULL ORDER BY run_id"
            )
        ]

    def sent(self, run_id: int, kind: str) -> set[int]:
        """Batch numbers of `kind` the hub acknowledged for this run."""
        rows = self._db.execute(
            "SELECT batch_no FROM sent_batch WHERE run_id = ? AND kind = ?", (run_id, kind)
        )
        return {int(r[0]) for r in rows}

    def mark_sent(self, run_id: int, kind: str, batch_no: int, key: str) -> None:
        """Record that the hub acknowledged a batch."""
        self._db.execute(
            "INSERT OR IGNORE INTO sent_batch (run_id, kind, batch_no, idempotency_key, sent_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (run_id, kind, batch_no, key, datetime.now(UTC).isoformat(timespec="seconds")),
        )

    def mark_synced(self, run_id: int) -> None:
        """Every batch of the run was acknowledged."""
        self._db.execute(
            "UPDATE run SET synced_at = ? WHERE run_id = ?",
            (datetime.now(UTC).isoformat(timespec="seconds"), run_id),
        )


_DIRECTORY = (
    "ref, record_id, display_name, date_of_birth, case_manager_id, household_id, "
    "household_role, member_only"
)
_SELECT_DIRECTORY = f"SELECT {_DIRECTORY} FROM client_directory"  # noqa: S608  (constants)
_INSERT_DIRECTORY = f"INSERT INTO client_directory ({_DIRECTORY}) VALUES ({', '.join('?' * 8)})"  # noqa: S608


def _entry(row: tuple[object, ...]) -> DirectoryEntry:
    ref, record_id, name, dob, case_manager, household, role, member = row
    return DirectoryEntry(
        str(ref),
        str(record_id),
        str(name),
        str(dob),
        str(case_manager),
        str(household),
        str(role),
        bool(member),
    )


def _add_columns(db: sqlite3.Connection) -> None:
    """Bring an older layout's tables up to this one (columns added since)."""
    added = {
        "record": (
            ("exited_on", "TEXT NOT NULL DEFAULT ''"),  # layout 3: no enrollment history
            ("extra", "TEXT NOT NULL DEFAULT '{}'"),  # layout 4: no households
        ),
        "client_directory": (
            ("household_id", "TEXT NOT NULL DEFAULT ''"),
            ("household_role", "TEXT NOT NULL DEFAULT ''"),
            ("member_only", "INTEGER NOT NULL DEFAULT 0"),
        ),
    }
    for table, columns in added.items():
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if not have:  # a new state: the schema makes the table whole
            continue
        for name, kind in columns:
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _staged_statements(
    run_id: int, context: str, exit_on: str | None
) -> list[tuple[str, tuple[object, ...]]]:
    """The SQL that applies a staged run (see `NodeState.record_run`). Records missing
    from the export (`staging.gone`) exit on `exit_on`, kept as history with their last
    encoding, or, when it is None, are removed."""
    return [
        ("DELETE FROM client_directory", ()),
        (
            "INSERT INTO client_directory (" + _DIRECTORY + ") SELECT ref, record_id, "  # noqa: S608
            "display_name, date_of_birth, case_manager_id, household_id, household_role, "
            "member_only FROM staging.staged ORDER BY line",
            (),
        ),
        (
            "INSERT INTO record (ref, record_id, content_hash, clk, context, case_manager_id, "
            "removed, exited_on, extra) SELECT ref, record_id, content_hash, clk, ?, "
            "case_manager_id, 0, exited_on, extra FROM staging.staged WHERE clk IS NOT NULL "
            "ORDER BY line ON CONFLICT(ref) DO UPDATE SET record_id = excluded.record_id, "
            "content_hash = excluded.content_hash, clk = excluded.clk, "
            "context = excluded.context, case_manager_id = excluded.case_manager_id, "
            "removed = 0, exited_on = excluded.exited_on, extra = excluded.extra",
            (context,),
        ),
        (
            # The payload: the enrollment dates and household, when the roster has them.
            "INSERT INTO change (run_id, ref, op, clk, payload) SELECT ?, ref, 'upsert', clk, "
            "NULLIF(json_patch(extra, CASE WHEN enrolled_on = '' AND exited_on = '' THEN '{}' "
            "ELSE json_object('enrolled_on', NULLIF(enrolled_on, ''), "
            "'exited_on', NULLIF(exited_on, '')) END), '{}') "
            "FROM staging.staged WHERE clk IS NOT NULL ORDER BY line",
            (run_id,),
        ),
        *_removals(run_id),
        *([] if exit_on is None else _exits(run_id, exit_on)),
        (
            "UPDATE record SET case_manager_id = (SELECT a.case_manager_id FROM staging.assign a "
            "WHERE a.ref = record.ref) WHERE ref IN (SELECT ref FROM staging.assign)",
            (),
        ),
        (
            "INSERT INTO change (run_id, ref, op, case_manager_id) SELECT ?, ref, "
            "CASE WHEN case_manager_id != '' THEN 'assign' ELSE 'unassign' END, "
            "NULLIF(case_manager_id, '') FROM staging.assign ORDER BY ref",
            (run_id,),
        ),
    ]


def _removals(run_id: int) -> list[tuple[str, tuple[object, ...]]]:
    """Records missing from the export that are removed at the hub."""
    return [
        (
            "UPDATE record SET removed = 1 "
            "WHERE ref IN (SELECT ref FROM staging.gone WHERE remove = 1)",
            (),
        ),
        (
            "INSERT INTO change (run_id, ref, op) SELECT ?, ref, 'remove' FROM staging.gone "
            "WHERE remove = 1 ORDER BY ref",
            (run_id,),
        ),
    ]


def _exits(run_id: int, exit_on: str) -> list[tuple[str, tuple[object, ...]]]:
    """A client missing from the export left the program today: the hub keeps their
    last encoding as history, dated."""
    return [
        (
            "UPDATE record SET exited_on = ? "
            "WHERE ref IN (SELECT ref FROM staging.gone WHERE remove = 0)",
            (exit_on,),
        ),
        (
            "INSERT INTO change (run_id, ref, op, clk, payload) SELECT ?, r.ref, 'upsert', "
            "r.clk, json_patch(r.extra, json_object('exited_on', ?)) FROM record r "
            "WHERE r.ref IN (SELECT ref FROM staging.gone WHERE remove = 0) ORDER BY r.ref",
            (run_id, exit_on),
        ),
    ]
