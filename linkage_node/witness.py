"""The node's witness and monitor of the hub's consent ledger.

Every node command that talks to the hub (sync, review, the case managers' pages, and
`pprl node witness run` on a schedule) runs a witness round first: it takes the hub's
newest checkpoint, demands a consistency proof from the largest one this node accepted,
reads every entry in between (in full where the agency is a party, as the hub's signed
note otherwise), checks that they add up to the signed root, cosigns the checkpoint and
hands the cosignature back. Answers a case manager sees are checked the same way before
the page says "consent verified": the cited grant must be a live grant in the history
this node witnessed that allows exactly that disclosure (`consent.LedgerView`).

A rollback, a second history or entries that do not add up raise `WitnessAlarm`: the
round is recorded with both signed notes as evidence, logged, counted, and the command
exits 4; pages show a banner instead of answers.

State lives in `ledger-witness.db` in the node's state directory: the pinned log key,
the witnessed checkpoint, the frontier of leaf hashes, the entries that change consent
state, and the alarms. It holds no PII.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consent import (
    Checkpoint,
    CheckpointInvalid,
    Frontier,
    GrantRecord,
    LedgerView,
    LogVerifier,
    ViewItem,
    WitnessAlarm,
    cosign,
    open_checkpoint,
    witness_name,
)
from contract import FamilyOut, SharedOut
from contract.client import HubClient
from contract.errors import HubCallError
from keys import AgencyIdentity, canonical
from linkage_node.answer_check import AnswerCheck, Cited, check_grants
from linkage_node.errors import StateError
from linkage_node.private_files import private_file

log = logging.getLogger("pprl.node.witness")

WITNESS_FILE = "ledger-witness.db"
PAGE = 1000
# An answer decided longer ago than this (by the hub's clock) is not vouched for.

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pinned (id INTEGER PRIMARY KEY CHECK (id = 1), vkey TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS witnessed (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    note TEXT NOT NULL,
    size INTEGER NOT NULL,
    frontier BLOB NOT NULL,
    cosigned_size INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS view_item (
    idx INTEGER PRIMARY KEY,
    leaf BLOB,
    ends INTEGER,
    because TEXT
);
CREATE TABLE IF NOT EXISTS alarm (
    alarm_id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    witnessed_note TEXT,
    shown_note TEXT
);
"""


@dataclass(frozen=True)
class Alarm:
    """A recorded witness alarm, with both signed notes as evidence."""

    at: str
    kind: str
    detail: str
    witnessed_note: str | None
    shown_note: str | None


class NodeWitness:
    """One agency node's witness state; safe to share between a process's threads."""

    def __init__(
        self, path: Path, verifier: LogVerifier, identity: AgencyIdentity | None = None
    ) -> None:
        self._path = path
        self._verifier = verifier
        self._identity = identity
        self._lock = threading.RLock()
        self._view: LedgerView | None = None
        with self._db() as db:
            db.executescript(_SCHEMA)
            row = db.execute("SELECT vkey FROM pinned").fetchone()
            if row is None:
                db.execute("INSERT INTO pinned (id, vkey) VALUES (1, ?)", (verifier.vkey(),))
            elif row[0] != verifier.vkey():
                raise StateError(
                    f"the hub's log key given here is not the one this node pinned in {path}",
                    "A changed log key is how a hub would start a second history. Use the "
                    "key the node pinned; if the hub operator really replaced it (announced "
                    "to every agency), move the witness file aside to pin the new one.",
                )

    @classmethod
    def open(
        cls, state_dir: Path, identity: AgencyIdentity | None, log_public_key: Path | None
    ) -> NodeWitness | None:
        """The node's witness: pins `log_public_key` the first time it is given, and uses
        the pinned key afterwards. None when no key was ever given. Without the agency's
        `identity` it checks but cannot cosign."""
        path = state_dir / WITNESS_FILE
        if log_public_key is not None:
            try:
                verifier = LogVerifier.from_vkey(log_public_key.read_text(encoding="ascii"))
            except (OSError, UnicodeDecodeError) as exc:
                raise StateError(
                    f"cannot read the hub's log key {log_public_key}: {exc}",
                    "Give the .vkey file the hub operator published.",
                ) from None
            return cls(path, verifier, identity)
        if not path.exists():
            return None
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT vkey FROM pinned").fetchone()
        return None if row is None else cls(path, LogVerifier.from_vkey(row[0]), identity)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(private_file(self._path), isolation_level=None, timeout=30)
        try:
            yield db
        finally:
            db.close()

    # --- the witness round --------------------------------------------------------------

    def run(self, hub: HubClient, note: str | None = None) -> Checkpoint | None:
        """One round against `note` (default: the hub's newest checkpoint); returns the
        witnessed checkpoint. Raises WitnessAlarm (recorded first) or HubCallError."""
        with self._lock:
            view = self._current_view()
            shown = note
            try:
                if shown is None:
                    current = hub.checkpoint()
                    shown = current.note if current is not None else None
                if shown is None:
                    return view.witnessed
                witnessed = self._observe(view, hub, shown)
                kept = self._read_to(view, hub, witnessed)
                self._persist(view, kept)
            except WitnessAlarm as alarm:
                self._view = None  # the next round starts from what was stored
                self._record(alarm, view.witnessed_note, shown)
                raise
            except BaseException:
                self._view = None
                raise
            self._cosign(hub, view)
            return view.witnessed

    def _observe(self, view: LedgerView, hub: HubClient, note: str) -> Checkpoint:
        """Check `note` against the witnessed checkpoint; returns the (new) witnessed one."""
        try:
            shown = open_checkpoint(note, self._verifier)
        except CheckpointInvalid as exc:
            raise WitnessAlarm(
                f"the hub showed a checkpoint that does not open: {exc}", None, kind="tampered"
            ) from None
        old = view.witnessed
        proof: list[bytes] = []
        if old is not None and shown.size != old.size:
            low, high = sorted((old.size, shown.size))
            given = hub.consistency(low, high)
            found = [canonical.b64decode(p) for p in given.proof] if given is not None else None
            if found is None and shown.size < old.size:
                raise WitnessAlarm(
                    f"rollback: the hub showed size {shown.size} after size {old.size} and "
                    f"has no tree of size {old.size} any more",
                    None,
                    kind="rollback",
                )
            proof = found or []
        view.observe(note, proof)
        assert view.witnessed is not None  # noqa: S101  (observe() sets it)
        return view.witnessed

    def _read_to(self, view: LedgerView, hub: HubClient, witnessed: Checkpoint) -> list[ViewItem]:
        """Read every entry up to the witnessed size; they must make up its root."""
        size = witnessed.size
        kept: list[ViewItem] = []
        while view.size < size:
            page = hub.ledger_entries(view.size, min(PAGE, size - view.size))
            if not page:
                raise WitnessAlarm(
                    f"the hub signed a tree of size {size} but shows only {view.size} entries",
                    None,
                    kind="rollback",
                )
            for item in page[: size - view.size]:
                found = view.accept(item)
                if found is not None:
                    kept.append(found)
        view.reconcile(witnessed)
        return kept

    def _persist(self, view: LedgerView, kept: list[ViewItem]) -> None:
        if view.witnessed_note is None:  # pragma: no cover - observe() set it
            return
        frontier = b"".join(view.frontier.hashes)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT size FROM witnessed").fetchone()
                if row is not None and row[0] > view.size:
                    # Another process of this node witnessed further meanwhile; its view
                    # (which includes ours) stands.
                    db.execute("ROLLBACK")
                    self._view = None
                    return
                db.executemany(
                    "INSERT OR IGNORE INTO view_item (idx, leaf, ends, because) VALUES (?,?,?,?)",
                    [(k.index, k.leaf, k.ends, k.because) for k in kept],
                )
                db.execute(
                    "INSERT INTO witnessed (id, note, size, frontier) VALUES (1, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET note = excluded.note, size = excluded.size,"
                    " frontier = excluded.frontier",
                    (view.witnessed_note, view.size, frontier),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _cosign(self, hub: HubClient, view: LedgerView) -> None:
        witnessed = view.witnessed
        if witnessed is None or witnessed.size != view.size or self._identity is None:
            return
        with self._db() as db:
            row = db.execute("SELECT cosigned_size FROM witnessed").fetchone()
        if row is not None and row[0] >= witnessed.size:
            return
        identity = self._identity
        line = cosign(
            witnessed,
            witness_name(identity.agency_id),
            identity.signing_key.public_key(),
            identity,
        ).line
        try:
            hub.cosign(witnessed.size, line)
        except HubCallError as exc:
            log.warning("could not hand the hub this node's cosignature: %s", exc)
            return
        with self._db() as db:
            db.execute("UPDATE witnessed SET cosigned_size = ? WHERE id = 1", (witnessed.size,))

    def _current_view(self) -> LedgerView:
        with self._db() as db:
            row = db.execute("SELECT note, size, frontier FROM witnessed").fetchone()
            if self._view is not None and (row is None or row[1] == self._view.size):
                return self._view
            if row is None:
                self._view = LedgerView(self._verifier)
                return self._view
            items = [
                ViewItem(idx, leaf, ends, because)
                for idx, leaf, ends, because in db.execute(
                    "SELECT idx, leaf, ends, because FROM view_item WHERE idx < ? ORDER BY idx",
                    (row[1],),
                )
            ]
        blob = bytes(row[2])
        frontier = Frontier(row[1], [blob[i : i + 32] for i in range(0, len(blob), 32)])
        self._view = LedgerView.restore(self._verifier, items, frontier, row[0])
        return self._view

    # --- alarms -------------------------------------------------------------------------

    def _record(self, alarm: WitnessAlarm, witnessed: str | None, shown: str | None) -> None:
        log.error("witness alarm (%s): %s", alarm.kind, alarm.what)
        with self._db() as db:
            db.execute(
                "INSERT INTO alarm (at, kind, detail, witnessed_note, shown_note) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    alarm.kind,
                    alarm.what,
                    witnessed,
                    shown,
                ),
            )

    def alarms(self) -> list[Alarm]:
        """Every alarm this node recorded, newest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT at, kind, detail, witnessed_note, shown_note FROM alarm "
                "ORDER BY alarm_id DESC"
            ).fetchall()
        return [Alarm(*row) for row in rows]

    def status(self) -> dict[str, Any]:
        """The witnessed size, what was cosigned, and how many alarms were recorded."""
        with self._db() as db:
            row = db.execute("SELECT size, cosigned_size, note FROM witnessed").fetchone()
            count = db.execute("SELECT count(*) FROM alarm").fetchone()[0]
        return {
            "log": self._verifier.name,
            "witnessed_size": row[0] if row else 0,
            "cosigned_size": row[1] if row else 0,
            "witnessed_checkpoint": row[2] if row else None,
            "alarms": count,
        }

    def grants_of(self, agency_id: str) -> tuple[list[GrantRecord], int]:
        """The grants `agency_id` recorded, as this node's witnessed history holds them
        (each entry checked to add up to a checkpoint signed by the pinned log key), and
        the size of that history."""
        with self._lock:
            view = self._current_view()
            grants = [g for g in view.state.grants.values() if g.agency_id == agency_id]
            return sorted(grants, key=lambda g: g.index), view.size

    # --- answers ------------------------------------------------------------------------

    def check_answer(
        self,
        hub: HubClient,
        answer: SharedOut,
        programs: tuple[str, ...],
        *,
        now: datetime | None = None,
    ) -> AnswerCheck:
        """Check every grant an answer to "is this client shared?" relied on against the
        history this node witnessed. Raises WitnessAlarm when the answer's checkpoint is
        not a view of that history."""
        cited: list[Cited] = [
            (program, level, decided.grant)
            for program in [*answer.programs, *answer.past_enrollments]
            for level, decided in (
                ("existence", program.existence),
                ("contact", program.contact),
                ("plan", program.plan),
            )
            if decided.grant is not None
        ]
        return self._check(hub, answer, cited, programs, now)

    def check_family(
        self,
        hub: HubClient,
        family: FamilyOut,
        programs: tuple[str, ...],
        *,
        now: datetime | None = None,
    ) -> AnswerCheck:
        """The same check for an answer about a client's family: each member's grant
        must be about that member's record at the program named."""
        cited: list[Cited] = [
            (program, "existence", program.existence.grant)
            for member in family.members
            for program in member.programs
            if program.existence.grant is not None
        ]
        return self._check(hub, family, cited, programs, now)

    def _check(
        self,
        hub: HubClient,
        answer: SharedOut | FamilyOut,
        cited: list[Cited],
        programs: tuple[str, ...],
        now: datetime | None,
    ) -> AnswerCheck:
        if not cited:
            return AnswerCheck(None)
        note = answer.checkpoint
        if not note:
            return AnswerCheck(False, ("the answer carries no checkpoint for its grants",))
        with self._lock:
            self.run(hub, note)
            view = self._current_view()
            checkpoint = open_checkpoint(note, self._verifier)
            return check_grants(view, checkpoint, cited, answer, programs=programs, now=now)
