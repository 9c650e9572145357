"""/v1/agencies/{agency_id}/...: a node's idempotent batch uploads, and its org structure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header

from contract import (
    AssignmentBatchIn,
    BatchOut,
    EncodingBatchIn,
    MilestoneBatchIn,
    OrgStructureIn,
    OrgStructureOut,
    SyncCheckInIn,
    SyncCheckInOut,
)
from hub.auth import authorize_agency_node
from hub.deps import CipherDep, HubDep, PrincipalDep, SessionDep
from hub.routes.api.agencies import AgencyId
from hub.services import org, sync_watch, uploads

router = APIRouter(prefix="/v1/agencies/{agency_id}", tags=["uploads"])
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{8,128}$",
        description="Chosen by the node per batch; replaying a batch with it is a no-op.",
    ),
]


@router.post("/encodings/batches", summary="Upload new, changed and removed encodings")
def upload_encodings(
    agency_id: AgencyId,
    body: EncodingBatchIn,
    idempotency_key: IdempotencyKey,
    hub: HubDep,
    cipher: CipherDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> BatchOut:
    """All or nothing; refused (409) for a wrong epoch, schema or canary."""
    authorize_agency_node(principal, agency_id)
    out = uploads.upload_encodings(
        session, settings=hub.settings, agency_id=agency_id, key=idempotency_key, batch=body
    )
    session.commit()
    if not out.replayed:
        hub.metrics.records.labels("encodings").inc(out.accepted)
    return out


@router.post("/assignments/batches", summary="Upload case-manager assignments and contacts")
def upload_assignments(
    agency_id: AgencyId,
    body: AssignmentBatchIn,
    idempotency_key: IdempotencyKey,
    hub: HubDep,
    cipher: CipherDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> BatchOut:
    """Contacts are sealed at rest and shown only through the disclosure path."""
    authorize_agency_node(principal, agency_id)
    out = uploads.upload_assignments(
        session,
        settings=hub.settings,
        cipher=cipher,
        agency_id=agency_id,
        key=idempotency_key,
        batch=body,
    )
    session.commit()
    return out


@router.post("/milestones/batches", summary="Upload plan milestones")
def upload_milestones(
    agency_id: AgencyId,
    body: MilestoneBatchIn,
    idempotency_key: IdempotencyKey,
    hub: HubDep,
    cipher: CipherDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> BatchOut:
    """Plans are sealed at rest and shown only through the disclosure path."""
    authorize_agency_node(principal, agency_id)
    out = uploads.upload_milestones(
        session,
        settings=hub.settings,
        cipher=cipher,
        agency_id=agency_id,
        key=idempotency_key,
        batch=body,
    )
    session.commit()
    return out


@router.put("/staff", summary="Replace the agency's org structure (who reports to whom)")
def put_org_structure(
    agency_id: AgencyId, body: OrgStructureIn, session: SessionDep, principal: PrincipalDep
) -> OrgStructureOut:
    """The whole structure, replacing the last one: a supervisor's access follows it
    (a client of anyone who reports to them). Refused (422) for a supervisor who is not
    listed, anyone listed twice, or a reporting loop."""
    authorize_agency_node(principal, agency_id)
    at = datetime.now(UTC)
    staff, supervisors = org.replace_structure(session, agency_id, body, at=at)
    session.commit()
    return OrgStructureOut(agency_id=agency_id, staff=staff, supervisors=supervisors, updated_at=at)


@router.put("/sync-check-in", summary="Say that the node finished a sync (changes or not)")
def put_sync_check_in(
    agency_id: AgencyId,
    body: SyncCheckInIn,
    hub: HubDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> SyncCheckInOut:
    """The agency's node, at the end of every sync: how the hub tells a nightly job that
    had nothing to send from one that stopped running (the operators' stale-sync alert)."""
    authorize_agency_node(principal, agency_id)
    at = datetime.now(UTC)
    sync_watch.check_in(session, agency_id, body, at=at)
    session.commit()
    return SyncCheckInOut(
        agency_id=agency_id,
        last_sync_at=at,
        expected_every_hours=sync_watch.expected_hours(hub.settings, agency_id),
    )
