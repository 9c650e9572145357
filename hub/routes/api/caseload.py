"""/v1/caseload: the signed-in case manager's clients, with a shared flag."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from contract import CaseloadItemOut, CaseloadOut
from hub.auth import require_case_manager
from hub.deps import DisclosureDep, HubDep, PrincipalDep, WriterSessionDep
from hub.disclosure import Asker
from hub.errors import problem_responses
from hub.services.caseload import caseload

router = APIRouter(prefix="/v1/caseload", tags=["clients"])


@router.get(
    "",
    summary="The caller's caseload, with what changed since the last visit",
    responses=problem_responses(429),
)
def get_caseload(
    hub: HubDep, session: WriterSessionDep, principal: PrincipalDep, engine: DisclosureDep
) -> CaseloadOut:
    """Case managers only: every record their agency assigned to them. Opening it counts
    as a visit (the next answer's `changes` are relative to this one)."""
    agency = require_case_manager(principal)
    hub.questions.take(agency, principal.subject)
    result = caseload(engine, session, Asker(agency, principal.subject), at=datetime.now(UTC))
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
                past_programs=item.past_programs,
                changes=item.changes,
            )
            for item in result.items
        ],
    )
