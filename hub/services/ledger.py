"""The consent ledger in the hub's database.

`HubLedger` keeps the replayed consent state and the Merkle tree in memory and in step
with the database: before every append it takes the ledger's write lock (by updating
the head row), catches up with entries other hub processes appended, and checks the new
entry against the state exactly as `pprl consent verify` will later. If an append it
made is rolled back, the next writer's sync notices (the head or the last leaf hash
differs) and rebuilds from the database.

Two locks guard it: the head row in the database (between processes, held to the end of
the writer's transaction) and a lock in this process (between its request threads, held
only while the in-memory state changes). Writers always take the head row first. The
other order deadlocks on PostgreSQL: a request holding the in-process lock waits for a
row another request's open transaction holds, while that request waits for the
in-process lock (the load test found it). Nothing done under the in-process lock waits
for the database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from consent import (
    HUB_SIGNER,
    Checkpoint,
    ConsentState,
    EntryInvalid,
    EntryRejected,
    LedgerTampered,
    LogKey,
    MerkleTree,
    SignedEntry,
    format_timestamp,
    leaf_hash,
    make_proof_bundle,
    parse_leaf,
    sign_checkpoint,
    sign_entry,
    validate_entry,
)
from hub.db import table_of
from hub.models import LedgerCheckpoint, LedgerEntry, LedgerHead

_ENTRY = table_of(LedgerEntry)
_CHECKPOINT = table_of(LedgerCheckpoint)
_HEAD = table_of(LedgerHead)


def head_size(session: Session) -> int:
    """The number of entries the head row records."""
    return int(session.execute(select(_HEAD.c.size).where(_HEAD.c.id == 1)).scalar_one())


def stored_rows(session: Session, start: int = 0) -> Iterator[tuple[int, bytes, bytes]]:
    """(index, leaf, stored leaf hash) from `start`, in index order, streamed."""
    query = (
        select(_ENTRY.c.entry_index, _ENTRY.c.leaf, _ENTRY.c.leaf_hash)
        .where(_ENTRY.c.entry_index >= start)
        .order_by(_ENTRY.c.entry_index)
        .execution_options(yield_per=5000)
    )
    result = session.execute(query)
    try:
        for index, leaf, stored in result:
            yield int(index), bytes(leaf), bytes(stored)
    finally:
        # A reader that stops early (verification found a bad entry) must not leave a
        # server-side cursor open on PostgreSQL.
        result.close()


def stored_leaf(session: Session, index: int) -> bytes:
    """The stored leaf of entry `index`."""
    leaf = session.execute(select(_ENTRY.c.leaf).where(_ENTRY.c.entry_index == index)).scalar_one()
    return bytes(leaf)


def stored_checkpoints(session: Session) -> list[str]:
    """Every stored checkpoint note, oldest first."""
    return list(session.execute(select(_CHECKPOINT.c.note).order_by(_CHECKPOINT.c.size)).scalars())


def latest_checkpoint(session: Session) -> tuple[int, str] | None:
    """(size, note) of the newest checkpoint, if any."""
    row = session.execute(
        select(_CHECKPOINT.c.size, _CHECKPOINT.c.note).order_by(_CHECKPOINT.c.size.desc()).limit(1)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


class HubLedger:
    """The hub's handle on the ledger; one per process, shared by its requests."""

    def __init__(self, log_key: LogKey) -> None:
        self.log_key = log_key
        # Requests run on a thread pool; the in-memory state is changed under this lock
        # (the database lock serialises appends between processes).
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self.state = ConsentState(log_key=self.log_key.private_key.public_key())
        self.tree = MerkleTree()

    @property
    def origin(self) -> str:
        """The log's name in its checkpoints."""
        return self.log_key.name

    def hold_for_writing(self, session: Session) -> None:
        """Take the ledger's write lock (the head row) for the rest of the session's
        transaction, waiting for the writer before."""
        session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(size=_HEAD.c.size))

    def sync_as_writer(self, session: Session) -> None:
        """Take the write lock, then catch up: for an answer that will append, so that
        what it decides from is exactly what is committed."""
        self.hold_for_writing(session)
        with self._lock:
            self._sync(session)

    def sync(self, session: Session) -> int:
        """Catch up with the database; returns the ledger's size as the session sees it
        committed (what a reader may prove). A reader may find the tree ahead of that
        (another request's append not committed yet): its prefix is checked and the rest
        left alone. Only a writer rebuilds when an append was rolled back."""
        with self._lock:
            return self._sync(session, writing=False)

    def _sync(self, session: Session, *, writing: bool = True) -> int:
        size = len(self.tree)
        head = head_size(session)
        if not writing and size > head:
            if head and self._stored_hash(session, head - 1) != self.tree.leaf_hash_at(head - 1):
                self._reset()
            else:
                return head
        elif size > head or (
            size and self._stored_hash(session, size - 1) != self.tree.leaf_hash_at(size - 1)
        ):
            self._reset()
        for index, leaf, stored in stored_rows(session, len(self.tree)):
            if leaf_hash(leaf) != stored:
                raise LedgerTampered(index, "leaf bytes do not match the stored leaf hash")
            try:
                self.state.append(parse_leaf(leaf))
            except (EntryInvalid, EntryRejected) as exc:
                raise LedgerTampered(index, f"stored entry does not replay: {exc}") from None
            self.tree.append_hash(stored)
        return len(self.tree)

    @staticmethod
    def _stored_hash(session: Session, index: int) -> bytes | None:
        value = session.execute(
            select(_ENTRY.c.leaf_hash).where(_ENTRY.c.entry_index == index)
        ).scalar_one_or_none()
        return None if value is None else bytes(value)

    def append(self, session: Session, leaf: bytes, *, now: datetime | None = None) -> int:
        """Check and store one signed leaf; returns its index. The caller commits."""
        # The write lock before anything is read, so two appenders never pick the same
        # index: the second waits here until the first commits or rolls back.
        self.hold_for_writing(session)
        with self._lock:
            return self._append(session, leaf, now)

    def _append(self, session: Session, leaf: bytes, now: datetime | None) -> int:
        self._sync(session)
        signed = parse_leaf(leaf)
        index = self.state.size
        self.state.append(signed)  # raises EntryRejected; nothing changed then
        try:
            session.execute(
                _ENTRY.insert().values(
                    entry_index=index,
                    leaf=signed.leaf,
                    leaf_hash=signed.leaf_hash,
                    appended_at=now or datetime.now(UTC),
                )
            )
            session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(size=index + 1))
        except Exception:
            self._reset()
            raise
        self.tree.append_hash(signed.leaf_hash)
        return index

    def append_hub_entry(
        self, session: Session, fields: dict[str, Any], *, now: datetime | None = None
    ) -> tuple[int, SignedEntry]:
        """Sign an ACCESS or KEY statement with the log key and append it."""
        made = now or datetime.now(UTC)
        entry = validate_entry(
            {
                "v": 1,
                "signer": HUB_SIGNER,
                "key_id": self.log_key.signing_key_id,
                "made_at": format_timestamp(made),
                **fields,
            }
        )
        signed = sign_entry(entry, self.log_key)
        return self.append(session, signed.leaf, now=made), signed

    def issue_checkpoint(self, session: Session, *, now: datetime | None = None) -> str | None:
        """Sign and store a checkpoint of the current tree, unless nothing changed."""
        # Under the write lock: no append is in flight, so the tree signed is committed.
        self.hold_for_writing(session)
        with self._lock:
            return self._issue_checkpoint(session, now)

    def _issue_checkpoint(self, session: Session, now: datetime | None) -> str | None:
        self._sync(session)
        size = len(self.tree)
        latest = latest_checkpoint(session)
        if size == 0 or (latest is not None and latest[0] >= size):
            return None
        note = sign_checkpoint(Checkpoint(self.origin, size, self.tree.root()), self.log_key)
        try:
            with session.begin_nested():
                session.execute(
                    _CHECKPOINT.insert().values(
                        size=size,
                        root=self.tree.root(),
                        note=note,
                        issued_at=now or datetime.now(UTC),
                    )
                )
        except IntegrityError:
            return None  # another hub process signed this size first
        return note


def proof_bundle(session: Session, index: int, tree: MerkleTree | None = None) -> bytes:
    """An offline proof of entry `index` under the newest checkpoint that covers it.

    Needs no key: the tree is rebuilt from the stored leaf hashes unless one is given.
    """
    latest = latest_checkpoint(session)
    if latest is None or latest[0] <= index:
        raise EntryRejected(index, "no checkpoint covers this entry yet; issue one first")
    size, note = latest
    if tree is None:
        tree = MerkleTree(stored for _, _, stored in stored_rows(session))
    return make_proof_bundle(index, stored_leaf(session, index), tree, note, size)


def ledger_size(session: Session) -> int:
    """The number of stored entries (counted, not taken from the head)."""
    return int(session.execute(select(func.count()).select_from(_ENTRY)).scalar_one())
