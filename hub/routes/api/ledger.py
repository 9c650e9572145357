"""/v1/ledger: append signed entries, read checkpoints, proofs and entries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from consent import Grant, KeyStatement, Revoke, Supersede, as_read_by, parse_leaf
from contract import (
    CheckpointOut,
    ConsistencyProofOut,
    CosignatureIn,
    InclusionProofOut,
    LedgerEntryIn,
    LedgerEntryOut,
    LedgerLeafOut,
)
from hub.auth import require_ledger_reader
from hub.deps import LedgerDep, PrincipalDep, SessionDep
from hub.errors import Forbidden, NotFound, Unprocessable
from hub.services import agencies, cosignatures
from hub.services.consent_notify import queue_consent_notifications
from hub.services.ledger import stored_rows
from keys import Role, canonical

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])
MAX_PAGE = 1000


@router.post(
    "/entries", status_code=status.HTTP_201_CREATED, summary="Append a signed entry (agency nodes)"
)
def append_entry(
    body: LedgerEntryIn, ledger: LedgerDep, session: SessionDep, principal: PrincipalDep
) -> LedgerEntryOut:
    """The entry must be signed by the caller's own agency; it is checked exactly as
    `pprl consent verify` will check it later."""
    try:
        leaf = canonical.b64decode(body.leaf)
    except canonical.EncodingError:
        raise Unprocessable("leaf: not canonical base64") from None
    entry = parse_leaf(leaf).entry
    if not principal.has(Role.AGENCY_NODE) or entry.signer != principal.agency_id:
        raise Forbidden("an agency node may append only entries its own agency signed")
    index = ledger.append(session, leaf)
    if isinstance(entry, KeyStatement):
        agencies.project_keys(session, ledger, entry.agency_id)
    if isinstance(entry, Grant | Supersede | Revoke):
        queue_consent_notifications(session, ledger.state, entry, index)
    session.commit()
    if isinstance(entry, Grant | Supersede | Revoke):
        # A consent statement is checkpointed at once: the agency's node lists it with
        # its proof, and a case manager's answer can be verified, without waiting for
        # the hub's next scheduled checkpoint.
        ledger.issue_checkpoint(session)
        session.commit()
    return LedgerEntryOut(index=index, leaf_hash=ledger.tree.leaf_hash_at(index).hex())


@router.get("/checkpoint", summary="The latest signed checkpoint, with its cosignatures")
def checkpoint(ledger: LedgerDep, session: SessionDep, principal: PrincipalDep) -> CheckpointOut:
    """404 until the first checkpoint is issued."""
    return cosignatures.served_checkpoint(session, ledger)


@router.get("/checkpoints/{size}", summary="The checkpoint of one size, with its cosignatures")
def checkpoint_of_size(
    size: Annotated[int, Path(ge=1, le=2**62)],
    ledger: LedgerDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> CheckpointOut:
    """404 when no checkpoint of that size was signed."""
    return cosignatures.served_checkpoint(session, ledger, size)


@router.post(
    "/checkpoints/{size}/cosignatures",
    summary="Cosign a checkpoint (an agency node's witness)",
)
def cosign_checkpoint(
    size: Annotated[int, Path(ge=1, le=2**62)],
    body: CosignatureIn,
    ledger: LedgerDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> CheckpointOut:
    """The node checked the checkpoint against everything it witnessed before and
    signs it (C2SP tlog-cosignature) with its agency key."""
    if principal.agency_id is None or not principal.has(Role.AGENCY_NODE):
        raise Forbidden("only an agency node's witness cosigns checkpoints")
    out = cosignatures.add_cosignature(session, ledger, principal.agency_id, size, body.cosignature)
    session.commit()
    return out


@router.get("/proofs/inclusion", summary="Inclusion proof of an entry in the tree of a size")
def inclusion_proof(
    ledger: LedgerDep,
    session: SessionDep,
    principal: PrincipalDep,
    index: Annotated[int, Query(ge=0, le=2**62)],
    tree_size: Annotated[int, Query(ge=1, le=2**62)],
) -> InclusionProofOut:
    """For checking that an entry is under a checkpoint the caller holds."""
    if not index < tree_size <= ledger.sync(session):
        raise NotFound("no such entry in a tree of that size")
    proof = ledger.tree.inclusion_proof(index, tree_size)
    return InclusionProofOut(
        index=index,
        tree_size=tree_size,
        leaf_hash=ledger.tree.leaf_hash_at(index).hex(),
        proof=[canonical.b64encode(p) for p in proof],
    )


@router.get("/proofs/consistency", summary="Consistency proof between two tree sizes")
def consistency_proof(
    ledger: LedgerDep,
    session: SessionDep,
    principal: PrincipalDep,
    first: Annotated[int, Query(ge=1, le=2**62)],
    second: Annotated[int, Query(ge=1, le=2**62)],
) -> ConsistencyProofOut:
    """What a witness asks for before accepting a larger checkpoint."""
    if not first <= second <= ledger.sync(session):
        raise NotFound("no tree of that size")
    proof = ledger.tree.consistency_proof(first, second)
    return ConsistencyProofOut(
        first=first, second=second, proof=[canonical.b64encode(p) for p in proof]
    )


@router.get("/entries", summary="Entries by index range (auditors and agency nodes)")
def entries(
    ledger: LedgerDep,
    session: SessionDep,
    principal: PrincipalDep,
    start: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[LedgerLeafOut]:
    """Leaves as stored, for auditors. An agency node reads in full the entries its
    agency is a party to, and for every other entry the hub's signed note of its leaf
    hash, type and the grant it ends (so it can still check the tree and that no
    revocation was hidden from it)."""
    require_ledger_reader(principal)
    committed = ledger.sync(session)
    reader = None if principal.has(Role.AUDITOR) else principal.agency_id
    out: list[LedgerLeafOut] = []
    for index, leaf, _ in stored_rows(session, start):
        if len(out) == limit or index >= committed:
            break
        shown = as_read_by(reader, index, parse_leaf(leaf), ledger.state, ledger.log_key)
        out.append(LedgerLeafOut.model_validate(shown))
    return out
