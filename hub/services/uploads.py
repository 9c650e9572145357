"""Uploads from agency nodes: encodings, case-manager assignments, plan milestones.

Each batch is applied in the caller's transaction, all or nothing, under the agency's
idempotency key: the same key with the same batch answers the first result again and
changes nothing; the same key with a different batch is a conflict. Encodings are
refused, before anything is stored, unless their secret epoch and schema fingerprint are
the hub's and the batch's canary digest (a keyed hash of the agreed canary record's
encoding) equals the other agencies'.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Table, and_, delete, func, literal, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from contract import AssignmentBatchIn, BatchOut, EncodingBatchIn, MilestoneBatchIn
from hub.crypto import DataCipher, contact_context, milestone_context
from hub.db import table_of
from hub.errors import Conflict, TooLarge, Unprocessable
from hub.models import (
    Assignment,
    Canary,
    Encoding,
    EncodingCounter,
    EncodingRemoval,
    Milestone,
    UploadBatch,
)
from hub.services import history, housekeeping
from hub.settings import HubSettings
from keys import canonical

Kind = Literal["encodings", "assignments", "milestones"]

_ENCODING: Table = table_of(Encoding)
_CANARY: Table = table_of(Canary)
# HMAC-SHA256: the node's keyed hash of the canary record's encoding.
CANARY_DIGEST_BYTES = 32
_BATCH: Table = table_of(UploadBatch)
_ASSIGNMENT: Table = table_of(Assignment)
_MILESTONE: Table = table_of(Milestone)
_REMOVAL: Table = table_of(EncodingRemoval)
_COUNTER: Table = table_of(EncodingCounter)


def _body_hash(batch: Any) -> str:
    return hashlib.sha256(canonical.canonical_json(batch.model_dump(mode="json"))).hexdigest()


def _apply_once(
    session: Session,
    *,
    agency_id: str,
    key: str,
    kind: Kind,
    batch: Any,
    apply: Callable[[], tuple[int, int]],
) -> BatchOut:
    """Run `apply` unless this idempotency key was already applied."""
    digest = _body_hash(batch)
    done = session.execute(
        select(_BATCH.c.kind, _BATCH.c.body_sha256, _BATCH.c.accepted, _BATCH.c.removed).where(
            _BATCH.c.agency_id == agency_id, _BATCH.c.idempotency_key == key
        )
    ).first()
    if done is not None:
        if done.kind != kind or not hmac.compare_digest(done.body_sha256, digest):
            raise Conflict("this Idempotency-Key was already used for a different batch")
        return BatchOut(
            batch_id=key, kind=kind, accepted=done.accepted, removed=done.removed, replayed=True
        )
    accepted, removed = apply()
    try:
        with session.begin_nested():
            session.execute(
                _BATCH.insert().values(
                    agency_id=agency_id,
                    idempotency_key=key,
                    kind=kind,
                    body_sha256=digest,
                    accepted=accepted,
                    removed=removed,
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:
        # The same batch raced in on another connection and won; ours must not apply.
        raise Conflict("this batch is being applied by another request; retry it") from None
    return BatchOut(batch_id=key, kind=kind, accepted=accepted, removed=removed, replayed=False)


def _check_size(settings: HubSettings, *parts: Sequence[object]) -> None:
    total = sum(len(p) for p in parts)
    if total > settings.max_batch_records:
        raise TooLarge(
            f"a batch holds at most {settings.max_batch_records} records; this one {total}"
        )


def _upsert(
    session: Session, table: Table, rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: insert.excluded[c] for c in rows[0] if c not in keys},
    )
    session.execute(statement, rows)


def upload_encodings(
    session: Session,
    *,
    settings: HubSettings,
    agency_id: str,
    key: str,
    batch: EncodingBatchIn,
    clk_bytes: int = 128,
) -> BatchOut:
    """Store new and changed encodings and drop removed ones (see module notes)."""
    _check_size(settings, batch.upserts, batch.removals)

    replaced = 0

    def apply() -> tuple[int, int]:
        nonlocal replaced
        _check_context(session, settings, agency_id, batch)
        seq = next_encoding_seq(session)
        now = datetime.now(UTC)
        rows = []
        for i, item in enumerate(batch.upserts):
            clk = _b64(item.clk, f"upserts[{i}].clk")
            if len(clk) != clk_bytes:
                raise Unprocessable(f"upserts[{i}].clk: a CLK is {clk_bytes} bytes")
            rows.append(
                {
                    "agency_id": agency_id,
                    "ref": item.ref,
                    "clk": clk,
                    "epoch": batch.epoch,
                    "schema_fingerprint": batch.schema_fingerprint,
                    "updated_at": now,
                    "enrolled_on": item.enrolled_on,
                    "exited_on": item.exited_on,
                    "household_ref": item.household.ref if item.household else None,
                    "household_role": item.household.role if item.household else None,
                    "member_only": item.member_only,
                }
            )
        if len({r["ref"] for r in rows}) != len(rows):
            raise Unprocessable("upserts: a record reference appears twice")
        if batch.state != "known":
            replaced = _replace_state(
                session, agency_id, seq, batch.state, {str(r["ref"]) for r in rows}
            )
        exits = history.carry_history(session, agency_id, rows)
        for row in rows:
            row["seq"] = seq
        _upsert(session, _ENCODING, rows, ("agency_id", "ref"))
        history.apply_exits(session, agency_id, exits, now=now)
        removed = _delete_refs(session, _ENCODING, agency_id, batch.removals)
        gone = sorted(set(batch.removals) - {r["ref"] for r in rows})
        if gone:
            session.execute(
                _REMOVAL.insert(), [{"seq": seq, "agency_id": agency_id, "ref": r} for r in gone]
            )
            # A client who left the program takes their contact and plan with them at
            # once, whether or not the plan export dropped them too (issue 19).
            _delete_refs(session, _ASSIGNMENT, agency_id, gone)
            _delete_refs(session, _MILESTONE, agency_id, gone)
        return len(rows), removed

    out = _apply_once(
        session, agency_id=agency_id, key=key, kind="encodings", batch=batch, apply=apply
    )
    return out.model_copy(update={"replaced": replaced}) if replaced else out


def _replace_state(
    session: Session,
    agency_id: str,
    seq: int,
    state: Literal["new", "replace"],
    uploaded: set[str],
) -> int:
    """A node whose state is new to the hub: refuse it when the hub holds the agency's
    records (they came from a state that was lost), or drop them when the steward chose
    to replace them. The drop is recorded as removals, so the next linkage run dissolves
    their links, and their assignments and milestones go with them."""
    mine = _ENCODING.c.agency_id == agency_id
    held = int(
        session.execute(select(func.count()).select_from(_ENCODING).where(mine)).scalar_one()
    )
    if not held:
        return 0
    if state == "new":
        raise Conflict(
            f"this node's state was reset: the hub holds {held} records of {agency_id} "
            "sent from an earlier state. Restore that state from its backup (`pprl node "
            "state restore`), or, to replace the hub's records with this state's, run "
            "`pprl node sync --reset`"
        )
    # A record this batch uploads again (the node kept its record-reference key) is
    # replaced in place, not removed.
    gone = select(literal(seq), _ENCODING.c.agency_id, _ENCODING.c.ref).where(
        mine, _ENCODING.c.ref.not_in(sorted(uploaded))
    )
    session.execute(_REMOVAL.insert().from_select(["seq", "agency_id", "ref"], gone))
    for table in (_ENCODING, _ASSIGNMENT, _MILESTONE):
        session.execute(delete(table).where(table.c.agency_id == agency_id))
    return held


def next_encoding_seq(session: Session) -> int:
    """The next batch sequence number. The counter row stays locked until the batch
    commits, so batches become visible in sequence order and a linkage run that has seen
    sequence n has seen every batch up to n."""
    value = session.execute(
        update(_COUNTER)
        .where(_COUNTER.c.id == 1)
        .values(value=_COUNTER.c.value + 1)
        .returning(_COUNTER.c.value)
    ).scalar_one()
    return int(value)


def _check_context(
    session: Session, settings: HubSettings, agency_id: str, batch: EncodingBatchIn
) -> None:
    if settings.secret_epoch is not None and batch.epoch != settings.secret_epoch:
        raise Conflict(
            f"secret epoch {batch.epoch} is not the hub's current epoch {settings.secret_epoch}; "
            "unseal the current linkage secret and encode again"
        )
    if (
        settings.schema_fingerprint is not None
        and batch.schema_fingerprint != settings.schema_fingerprint
    ):
        raise Conflict(
            "the schema fingerprint differs from the hub's: this node's linkage schema or "
            "normalisation is not the agreed one"
        )
    canary = _b64(batch.canary_digest, "canary_digest")
    if len(canary) != CANARY_DIGEST_BYTES:
        raise Unprocessable(f"canary_digest: a keyed hash of {CANARY_DIGEST_BYTES} bytes")
    others = session.execute(
        select(_CANARY.c.agency_id, _CANARY.c.digest).where(
            _CANARY.c.epoch == batch.epoch,
            _CANARY.c.schema_fingerprint == batch.schema_fingerprint,
            _CANARY.c.agency_id != agency_id,
        )
    ).all()
    differing = sorted(a for a, got in others if not hmac.compare_digest(bytes(got), canary))
    if differing:
        raise Conflict(
            "the canary record encodes differently here than at "
            f"{', '.join(differing)}: this node's linkage secret differs from theirs"
        )
    _upsert(
        session,
        _CANARY,
        [
            {
                "agency_id": agency_id,
                "epoch": batch.epoch,
                "schema_fingerprint": batch.schema_fingerprint,
                "digest": canary,
                "updated_at": datetime.now(UTC),
            }
        ],
        ("agency_id", "epoch", "schema_fingerprint"),
    )


def upload_assignments(
    session: Session,
    *,
    settings: HubSettings,
    cipher: DataCipher,
    agency_id: str,
    key: str,
    batch: AssignmentBatchIn,
) -> BatchOut:
    """Store who serves each record and their contact details (sealed)."""
    _check_size(settings, batch.upserts, batch.removals)

    def apply() -> tuple[int, int]:
        now = datetime.now(UTC)
        rows = [
            {
                "agency_id": agency_id,
                "ref": item.ref,
                "case_manager_id": item.case_manager_id,
                "contact": cipher.seal(
                    json.dumps(item.contact.model_dump(exclude_none=True)).encode(),
                    contact_context(agency_id, item.ref),
                ),
                "updated_at": now,
            }
            for item in batch.upserts
        ]
        if len({r["ref"] for r in rows}) != len(rows):
            raise Unprocessable("upserts: a record reference appears twice")
        changed = housekeeping.reassigned(session, agency_id, rows)
        _upsert(session, _ASSIGNMENT, rows, ("agency_id", "ref"))
        housekeeping.tell_linked_case_managers(
            session, agency_id, changed, kind="case_manager_changed", now=now
        )
        return len(rows), _delete_refs(session, _ASSIGNMENT, agency_id, batch.removals)

    return _apply_once(
        session, agency_id=agency_id, key=key, kind="assignments", batch=batch, apply=apply
    )


def upload_milestones(
    session: Session,
    *,
    settings: HubSettings,
    cipher: DataCipher,
    agency_id: str,
    key: str,
    batch: MilestoneBatchIn,
) -> BatchOut:
    """Store plan milestones (sealed)."""
    _check_size(settings, batch.upserts, batch.removals)

    def apply() -> tuple[int, int]:
        now = datetime.now(UTC)
        rows = [
            {
                "agency_id": agency_id,
                "ref": item.ref,
                "milestone_id": item.milestone_id,
                "plan": cipher.seal(
                    item.model_dump_json(
                        exclude={"ref", "milestone_id"}, exclude_none=True
                    ).encode(),
                    milestone_context(agency_id, item.ref, item.milestone_id),
                ),
                "updated_at": now,
            }
            for item in batch.upserts
        ]
        if len({(r["ref"], r["milestone_id"]) for r in rows}) != len(rows):
            raise Unprocessable("upserts: a milestone appears twice")
        _upsert(session, _MILESTONE, rows, ("agency_id", "ref", "milestone_id"))
        removed = 0
        if batch.removals:
            pairs = [(m.ref, m.milestone_id) for m in batch.removals]
            result = session.execute(
                delete(_MILESTONE).where(
                    _MILESTONE.c.agency_id == agency_id,
                    tuple_(_MILESTONE.c.ref, _MILESTONE.c.milestone_id).in_(pairs),
                )
            )
            removed = int(getattr(result, "rowcount", 0) or 0)
        return len(rows), removed

    return _apply_once(
        session, agency_id=agency_id, key=key, kind="milestones", batch=batch, apply=apply
    )


def _delete_refs(session: Session, table: Table, agency_id: str, refs: list[str]) -> int:
    if not refs:
        return 0
    result = session.execute(
        delete(table).where(and_(table.c.agency_id == agency_id, table.c.ref.in_(refs)))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _b64(text: str, where: str) -> bytes:
    try:
        return canonical.b64decode(text)
    except canonical.EncodingError:
        raise Unprocessable(f"{where}: not canonical base64") from None
