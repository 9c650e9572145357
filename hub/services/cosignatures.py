"""Checkpoints as the hub serves them: checked against its own tree and key on the way
out, with the agencies' witness cosignatures added.

An agency node that checked a checkpoint against everything it saw before sends its
cosignature line; the hub keeps one per agency and checkpoint, and serves the note with
every line it holds. A reader that wants more than the hub's word asks for the
agencies' cosignatures: after a restore from an older backup the hub can sign new
checkpoints, but no witness that saw the newer history will cosign them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlmodel import Session

from consent import (
    Checkpoint,
    CheckpointInvalid,
    LedgerTampered,
    open_checkpoint,
    open_cosignature,
    with_cosignatures,
    witness_name,
)
from contract import CheckpointOut
from hub.db import table_of
from hub.errors import NotFound, Unprocessable
from hub.models import LedgerCheckpoint, LedgerCosignature
from hub.services.ledger import HubLedger, latest_checkpoint
from hub.services.registry import agency_record
from keys import RegisteredKey

_CHECKPOINT = table_of(LedgerCheckpoint)
_COSIGNATURE = table_of(LedgerCosignature)


def served_checkpoint(
    session: Session, ledger: HubLedger, size: int | None = None
) -> CheckpointOut:
    """The stored checkpoint of `size` (default: the newest) with its cosignatures,
    after checking its signature and that the ledger still has the tree it signed."""
    if size is None:
        latest = latest_checkpoint(session)
        if latest is None:
            raise NotFound("no checkpoint has been issued yet")
        size, note = latest
    else:
        stored = session.execute(
            select(_CHECKPOINT.c.note).where(_CHECKPOINT.c.size == size)
        ).scalar_one_or_none()
        if stored is None:
            raise NotFound("no checkpoint of that size")
        note = str(stored)
    committed = ledger.sync(session)
    checkpoint = _check_stored(ledger, note, size, committed)
    rows = session.execute(
        select(_COSIGNATURE.c.agency_id, _COSIGNATURE.c.line)
        .where(_COSIGNATURE.c.size == size)
        .order_by(_COSIGNATURE.c.agency_id)
    ).all()
    return CheckpointOut(
        size=size,
        root=checkpoint.root.hex(),
        note=with_cosignatures(note, [str(line) for _, line in rows]),
        cosigned_by=[str(agency) for agency, _ in rows],
    )


def _check_stored(ledger: HubLedger, note: str, size: int, committed: int) -> Checkpoint:
    # A checkpoint row edited in the database, or a ledger that lost entries under a
    # checkpoint, must not be served as if it were sound.
    try:
        checkpoint = open_checkpoint(note, ledger.log_key.verifier)
    except CheckpointInvalid as exc:
        raise LedgerTampered(size, f"the stored checkpoint is not sound: {exc}") from None
    if checkpoint.size != size or size > committed or ledger.tree.root(size) != checkpoint.root:
        raise LedgerTampered(size, "the stored checkpoint does not match the ledger's tree")
    return checkpoint


def add_cosignature(
    session: Session, ledger: HubLedger, agency_id: str, size: int, line: str
) -> CheckpointOut:
    """Keep `agency_id`'s witness cosignature on the checkpoint of `size` (a newer line
    from the same agency replaces its older one). The caller commits."""
    served = served_checkpoint(session, ledger, size)
    checkpoint = open_checkpoint(served.note, ledger.log_key.verifier)
    now = datetime.now(UTC)
    name = witness_name(agency_id)
    record = agency_record(session, agency_id)
    keys = [] if record is None else [k for k in record.keys if _signing_now(k, now)]
    if not any(_verifies(line, checkpoint, name, key) for key in keys):
        raise Unprocessable(
            f"the cosignature is not by {name} with a current signing key of agency "
            f"{agency_id}, on the checkpoint of size {size}"
        )
    existing = session.get(LedgerCosignature, (size, agency_id))
    if existing is None:
        session.add(LedgerCosignature(size=size, agency_id=agency_id, line=line, cosigned_at=now))
    else:
        existing.line, existing.cosigned_at = line, now
        session.add(existing)
    session.flush()
    return served_checkpoint(session, ledger, size)


def _signing_now(key: RegisteredKey, now: datetime) -> bool:
    return key.kind == "ed25519" and key.valid_at(now)


def _verifies(line: str, checkpoint: Checkpoint, name: str, key: RegisteredKey) -> bool:
    public = Ed25519PublicKey.from_public_bytes(key.raw())
    try:
        open_cosignature(line, checkpoint, name, public)
    except CheckpointInvalid:
        return False
    return True
