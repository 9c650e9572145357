"""A supervisor's team caseload: every client assigned to someone in their chain of
command, with what needs them first (conflicts, stuck and overdue milestones, changes).

It is the same question as "is this client shared?" asked for a whole team, and decided
the same way: other programs are named as far as policy and consent allow, their plans
are read only where consent covers the plan (the counts come from them), and what the
page shows is on the ledger as ACCESS entries with the purpose `supervision`, deduplicated
like a reopened client page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from hub.disclosure import Asker, DisclosureEngine, LinkedProgram
from hub.models import Assignment
from hub.services import org
from hub.services.caseload import (
    cluster_changes,
    exits_noticed,
    last_visit,
    match_changes,
    note_visit,
)
from hub.services.plans import PlanItem, find_conflicts
from hub.settings import HubSettings

_CHUNK = 500


@dataclass
class TeamClient:
    """One client of the team."""

    ref: str
    case_manager_id: str
    office: str | None
    shared: bool
    programs: list[str]
    past_programs: list[str]
    conflicts: int = 0
    non_negotiable_conflicts: int = 0
    stuck: int = 0
    overdue: int = 0
    changes: list[str] = field(default_factory=list)

    def urgency(self) -> tuple[int, int, int, int, int, str, str]:
        """Sort key: what needs the supervisor first."""
        return (
            -self.non_negotiable_conflicts,
            -self.conflicts,
            -self.stuck,
            -self.overdue,
            -len(self.changes),
            self.case_manager_id,
            self.ref,
        )


@dataclass
class Team:
    """The team caseload as of `at`."""

    supervisor: str
    at: datetime
    previous_visit: datetime | None
    members: dict[str, org.Member]
    clients: list[TeamClient]


@dataclass(frozen=True)
class PlanRules:
    """The conflict rules' settings (`hub.settings`)."""

    deadline_window_days: int
    stuck_after_days: int
    client_hours_per_week: float

    @classmethod
    def of(cls, settings: HubSettings) -> PlanRules:
        """The rules as the hub is configured."""
        return cls(
            settings.conflict_deadline_window_days,
            settings.stuck_after_days,
            settings.client_hours_per_week,
        )


def team_caseload(
    engine: DisclosureEngine,
    session: Session,
    asker: Asker,
    *,
    at: datetime,
    rules: PlanRules,
    case_manager: str | None = None,
    office: str | None = None,
) -> Team:
    """Build the supervisor's team caseload (filtered to one case manager or office of
    the team), record what it shows and this visit. The caller commits."""
    agency_id, supervisor = asker.agency_id, asker.staff
    members = org.team_of(session, agency_id, supervisor)
    chosen = {
        staff
        for staff, m in members.items()
        if (case_manager is None or staff == case_manager)
        and (office is None or m.office == office)
    }
    assigned = _assigned(session, agency_id, sorted(chosen))
    previous = last_visit(session, agency_id, supervisor)
    refs = [ref for ref, _, _ in assigned]
    changed_at = cluster_changes(session, agency_id, refs)
    linked = {ref: engine.linked(session, agency_id, ref) for ref in refs}
    noticed = exits_noticed(session, [key for found in linked.values() for key in found])
    mine = engine.requester_programs(session, agency_id)
    engine.begin(session)
    decided: dict[str, list[LinkedProgram]] = {}
    clients = []
    for ref, staff, updated_at in assigned:
        entries = engine.decide(
            session, agency_id, linked[ref], at=at, levels=("existence", "plan"), supervision=True
        )
        decided[ref] = entries
        own = engine.plan_items(session, agency_id, ref, ", ".join(mine) or agency_id)
        client = _client(
            engine, session, ref, members[staff], entries, own=own, today=at.date(), rules=rules
        )
        if previous is None or updated_at > previous:
            client.changes.append(f"newly assigned to {staff}")
        client.changes.extend(match_changes(entries, changed_at.get(ref), noticed, previous))
        clients.append(client)
    _record(engine, session, asker, decided, at=at)
    note_visit(session, agency_id, supervisor, at)
    return Team(supervisor, at, previous, members, sorted(clients, key=TeamClient.urgency))


def _assigned(
    session: Session, agency_id: str, staff: list[str]
) -> list[tuple[str, str, datetime]]:
    out: list[tuple[str, str, datetime]] = []
    for start in range(0, len(staff), _CHUNK):
        rows = session.execute(
            select(
                col(Assignment.ref), col(Assignment.case_manager_id), col(Assignment.updated_at)
            ).where(
                col(Assignment.agency_id) == agency_id,
                col(Assignment.case_manager_id).in_(staff[start : start + _CHUNK]),
            )
        ).all()
        out.extend((ref, cm, when) for ref, cm, when in rows)
    return sorted(out)


def _client(
    engine: DisclosureEngine,
    session: Session,
    ref: str,
    member: org.Member,
    entries: list[LinkedProgram],
    *,
    own: list[PlanItem],
    today: date,
    rules: PlanRules,
) -> TeamClient:
    """The client's row: programs named, and counts over the plans it may see (its own
    program's, and other programs' where consent covers the plan)."""
    current = [e for e in entries if e.current]
    client = TeamClient(
        ref,
        member.staff_id,
        member.office,
        bool(current),
        sorted({e.program for e in current}),
        sorted({e.program for e in entries if not e.current}),
    )
    items = list(own)
    for entry in current:
        if entry.levels["plan"].allowed:
            entry.plan = engine.plan_items(session, entry.agency_id, entry.ref, entry.program)
            items.extend(entry.plan)
    _count(client, items, today, rules)
    return client


def _count(client: TeamClient, items: list[PlanItem], today: date, rules: PlanRules) -> None:
    conflicts = find_conflicts(
        items,
        today=today,
        deadline_window_days=rules.deadline_window_days,
        stuck_after_days=rules.stuck_after_days,
        client_hours_per_week=rules.client_hours_per_week,
    )
    client.conflicts = len(conflicts)
    client.non_negotiable_conflicts = sum(1 for c in conflicts if c.non_negotiable)
    client.stuck = sum(1 for i in items if i.open and i.fields.get("status") == "stuck")
    client.overdue = sum(1 for i in items if i.open and i.due is not None and i.due < today)


def _record(
    engine: DisclosureEngine,
    session: Session,
    asker: Asker,
    decided: dict[str, list[LinkedProgram]],
    *,
    at: datetime,
) -> None:
    """ACCESS entries for every level the page relied on, deduplicated within the window
    like a reopened client page."""
    everything = [e for entries in decided.values() for e in entries]
    checkpoint = engine.prove(session, everything)
    if checkpoint is None:
        return
    for ref, entries in decided.items():
        for entry in entries:
            engine.record(session, asker, ref, entry, at=at, checkpoint=checkpoint)
