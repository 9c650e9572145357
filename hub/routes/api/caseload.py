"""/v1/caseload: the signed-in case manager's clients, with a shared flag."""

from __future__ import annotations

from fastapi import APIRouter

from hub.auth import require_case_manager
from hub.db import begin_writer
from hub.deps import HubDep, PrincipalDep, SessionDep
from hub.errors import problem_responses
from hub.schemas import CaseloadItemOut, CaseloadOut
from hub.services.caseload import caseload

router = APIRouter(prefix="/v1/caseload", tags=["clients"])


@router.get(
    "",
    summary="The caller's caseload, with what changed since the last visit",
    responses=problem_responses(429),
)
def get_caseload(hub: HubDep, session: SessionDep, principal: PrincipalDep) -> CaseloadOut:
    """Case managers only: every record their agency assigned to them. Opening it counts
    as a visit (the next answer's `changes` are relative to this one)."""
    agency = require_case_manager(principal)
    hub.questions.take(agency, principal.subject)
    begin_writer(session)  # the answer appends ACCESS entries
    result = caseload(hub, session, agency_id=agency, staff=principal.subject)
    session.commit()
    return CaseloadOut(
        case_manager_id=result.staff,
        as_of=result.at,
        previous_visit=result.previous_visit,
        clients=[
            CaseloadItemOut(
                record_ref=item.ref,
                shared=item.shared,
                programs=item.programs,
                changes=item.changes,
            )
            for item in result.items
        ],
    )
