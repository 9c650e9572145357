"""The chain of command: who a supervisor may see clients of.

An agency's node sends its whole org structure (`contract.OrgStructureIn`); the hub
keeps it as rows of (staff, supervisor, office, unit). A supervisor's team is everyone
who reports to them directly or through others; their access is "a client assigned to
someone in my team". An agency that has sent no org structure has no teams, so its
supervisors see no client of anyone else: the chain of command is never guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session, col

from contract import OrgStructureIn
from hub.models import StaffMember


@dataclass(frozen=True)
class Member:
    """A staff member as the org structure says."""

    staff_id: str
    supervisor_id: str | None
    office: str | None
    unit: str | None


def replace_structure(
    session: Session, agency_id: str, body: OrgStructureIn, *, at: datetime
) -> tuple[int, int]:
    """Replace the agency's org structure (the caller commits); returns how many staff
    and how many supervisors it now holds."""
    session.execute(delete(StaffMember).where(col(StaffMember.agency_id) == agency_id))
    for staff in body.staff:
        session.add(
            StaffMember(
                agency_id=agency_id,
                staff_id=staff.staff_id,
                supervisor_id=staff.supervisor_id,
                office=staff.office,
                unit=staff.unit,
                updated_at=at,
            )
        )
    supervisors = {s.supervisor_id for s in body.staff if s.supervisor_id is not None}
    return len(body.staff), len(supervisors)


def members(session: Session, agency_id: str) -> dict[str, Member]:
    """The agency's org structure, by staff id."""
    rows = session.execute(
        select(StaffMember).where(col(StaffMember.agency_id) == agency_id)
    ).scalars()
    return {r.staff_id: Member(r.staff_id, r.supervisor_id, r.office, r.unit) for r in rows}


def chain_of(session: Session, agency_id: str, staff_id: str) -> list[str]:
    """Everyone above `staff_id`, nearest first (empty when they are not in the
    structure). The structure is a tree, checked on the way in; the walk still stops at
    a repeat so that a bad row can never loop."""
    chain: list[str] = []
    at = session.get(StaffMember, (agency_id, staff_id))
    while at is not None and at.supervisor_id is not None and at.supervisor_id not in chain:
        chain.append(at.supervisor_id)
        at = session.get(StaffMember, (agency_id, at.supervisor_id))
    return chain


def in_chain_of(session: Session, agency_id: str, supervisor: str, staff_id: str | None) -> bool:
    """Whether `supervisor` is above `staff_id` in the agency's chain of command."""
    return staff_id is not None and supervisor in chain_of(session, agency_id, staff_id)


def team_of(session: Session, agency_id: str, supervisor: str) -> dict[str, Member]:
    """Everyone who reports to `supervisor`, directly or through others."""
    everyone = members(session, agency_id)
    below: dict[str, list[str]] = defaultdict(list)
    for member in everyone.values():
        if member.supervisor_id is not None:
            below[member.supervisor_id].append(member.staff_id)
    team: dict[str, Member] = {}
    waiting = list(below.get(supervisor, []))
    while waiting:
        staff = waiting.pop()
        if staff in team or staff == supervisor:
            continue
        team[staff] = everyone[staff]
        waiting.extend(below.get(staff, []))
    return team
