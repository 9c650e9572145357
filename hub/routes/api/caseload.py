"""/v1/caseload: the signed-in case manager's clients, with a shared flag; /v1/team: a
supervisor's team caseload."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from contract import (
    CaseloadItemOut,
    CaseloadOut,
    StaffId,
    TeamClientOut,
    TeamDashboardOut,
    TeamMemberOut,
    TeamOut,
)
from hub.auth import require_case_manager, require_supervisor
from hub.deps import CipherDep, DisclosureDep, HubDep, PrincipalDep, SessionDep, WriterSessionDep
from hub.disclosure import Asker
from hub.errors import problem_responses
from hub.services.caseload import caseload
from hub.services.team import PlanRules, team_caseload
from hub.services.team_dashboard import team_dashboard

router = APIRouter(tags=["clients"])


@router.get(
    "/v1/caseload",
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


@router.get(
    "/v1/team",
    summary="A supervisor's team caseload: the clients of everyone in their chain",
    responses=problem_responses(429),
)
def get_team(
    hub: HubDep,
    session: WriterSessionDep,
    principal: PrincipalDep,
    engine: DisclosureDep,
    case_manager: Annotated[StaffId | None, Query(description="Only this team member's.")] = None,
    office: Annotated[str | None, Query(max_length=200, description="Only this office's.")] = None,
) -> TeamOut:
    """Supervisors only: every client assigned to someone who reports to them, directly
    or through others (the org structure the agency's node sent), what needs attention
    first. What it shows is recorded as ACCESS entries with the purpose `supervision`."""
    agency = require_supervisor(principal)
    hub.questions.take(agency, principal.subject)
    result = team_caseload(
        engine,
        session,
        Asker(agency, principal.subject, purpose="supervision"),
        at=datetime.now(UTC),
        rules=PlanRules.of(hub.settings),
        case_manager=case_manager,
        office=office,
    )
    session.commit()
    return TeamOut(
        supervisor_id=result.supervisor,
        as_of=result.at,
        previous_visit=result.previous_visit,
        members=[
            TeamMemberOut(
                staff_id=m.staff_id, supervisor_id=m.supervisor_id, office=m.office, unit=m.unit
            )
            for m in sorted(result.members.values(), key=lambda m: m.staff_id)
        ],
        clients=[
            TeamClientOut(
                record_ref=c.ref,
                case_manager_id=c.case_manager_id,
                office=c.office,
                shared=c.shared,
                programs=c.programs,
                past_programs=c.past_programs,
                conflicts=c.conflicts,
                non_negotiable_conflicts=c.non_negotiable_conflicts,
                stuck=c.stuck,
                overdue=c.overdue,
                changes=c.changes,
            )
            for c in result.clients
        ],
    )


@router.get(
    "/v1/team/dashboard",
    summary="De-identified counts about a supervisor's own team, small cells suppressed",
)
def get_team_dashboard(
    hub: HubDep, session: SessionDep, principal: PrincipalDep, cipher: CipherDep
) -> TeamDashboardOut:
    """Supervisors only: milestones newly stuck and completed per month, stuck now by
    reason, overdue by case manager, from their own agency's plans for the clients of
    everyone who reports to them (nothing from other programs: no disclosure)."""
    agency = require_supervisor(principal)
    result = team_dashboard(
        session,
        cipher,
        agency,
        principal.subject,
        limit=hub.settings.overlap_min_cell,
        today=datetime.now(UTC).date(),
    )
    return TeamDashboardOut(**result.__dict__)
