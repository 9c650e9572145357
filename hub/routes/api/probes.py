"""/v1/agencies/{agency_id}/probe-flags: signs of membership probing around the agency's
own records, for its data steward (README: "Probing")."""

from __future__ import annotations

from fastapi import APIRouter

from contract import ProbeFlagOut
from hub.auth import authorize_agency_node
from hub.deps import PrincipalDep, SessionDep
from hub.routes.api.agencies import AgencyId
from hub.routes.api.reports import probe_flag_out
from hub.services import probing

router = APIRouter(prefix="/v1/agencies/{agency_id}/probe-flags", tags=["review"])


@router.get("", summary="Flags about this agency's records (its node)")
def list_flags(
    agency_id: AgencyId, session: SessionDep, principal: PrincipalDep
) -> list[ProbeFlagOut]:
    """The agency's own node only: which of its records were disclosed to which agency
    under a sign of probing (never the asking agency's record)."""
    authorize_agency_node(principal, agency_id)
    return [
        probe_flag_out(flag, operator=False)
        for flag in probing.flags(session, disclosing_agency=agency_id)
    ]
