"""A supervisor's team caseload: the clients of everyone in their chain of command."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TeamMemberOut(BaseModel):
    staff_id: str
    supervisor_id: str | None
    office: str | None = None
    unit: str | None = None


class TeamClientOut(BaseModel):
    """One client of the team, by the agency's pseudonymous reference (the node shows
    the name). Counts cover the milestones the supervisor may see: their own program's
    and other programs' as far as consent allows."""

    record_ref: str
    case_manager_id: str
    office: str | None = None
    shared: bool
    programs: list[str] = Field(description="Other programs that may be named as serving them.")
    past_programs: list[str] = Field(default_factory=list)
    conflicts: int = Field(description="Conflicts in the combined plan.")
    non_negotiable_conflicts: int = Field(
        default=0, description="Of them, those involving a required milestone."
    )
    stuck: int = Field(description="Milestones stuck now.")
    overdue: int = Field(description="Open milestones past their target end.")
    changes: list[str] = Field(description="What changed since the supervisor's last visit.")


class TeamOut(BaseModel):
    supervisor_id: str
    as_of: datetime
    previous_visit: datetime | None
    members: list[TeamMemberOut] = Field(description="Everyone in the supervisor's chain.")
    clients: list[TeamClientOut] = Field(
        description="Conflicts first (required milestones before others), then stuck, "
        "overdue and changed, then by case manager."
    )


class TeamDashboardOut(BaseModel):
    """De-identified counts about a supervisor's own team, from their agency's plans;
    null where a count is under `limit` or would give one away."""

    limit: int
    months: list[str]
    newly_stuck: list[int | None] = Field(description="Milestones newly stuck, per month.")
    completed: list[int | None] = Field(description="Milestones completed, per month.")
    stuck_by_reason: dict[str, int | None] = Field(description="Stuck now, by reason code.")
    stuck_total: int | None
    overdue_by_case_manager: dict[str, int | None]
