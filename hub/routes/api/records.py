"""/v1/agencies/{agency_id}/records/{ref}: what the hub holds on one of your records."""

from __future__ import annotations

from fastapi import APIRouter

from contract import RecordOut, RecordRef
from hub.auth import authorize_record
from hub.deps import PrincipalDep, SessionDep
from hub.routes.api.agencies import AgencyId
from hub.services import org
from hub.services.records import record_view

router = APIRouter(prefix="/v1/agencies/{agency_id}/records", tags=["records"])


@router.get("/{ref}", summary="The hub's view of one of the caller's records")
def get_record(
    agency_id: AgencyId, ref: RecordRef, session: SessionDep, principal: PrincipalDep
) -> RecordOut:
    """For the agency's node, the assigned case manager and the supervisors above them;
    everyone else gets the same 404 as for a record that does not exist."""
    view, assigned_to = record_view(session, agency_id, ref)
    chain = org.chain_of(session, agency_id, assigned_to) if assigned_to else []
    authorize_record(principal, agency_id, view is not None, assigned_to, chain)
    assert view is not None  # authorize_record refused a missing record  # noqa: S101
    return view
