"""What the hub holds about one agency record, for its owners."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session, col

from contract import RecordOut
from hub.models import Assignment, Encoding, Milestone


def record_view(session: Session, agency_id: str, ref: str) -> tuple[RecordOut | None, str | None]:
    """The record (None if the hub has nothing on it) and who is assigned to it."""
    encoding = session.get(Encoding, (agency_id, ref))
    assignment = session.get(Assignment, (agency_id, ref))
    milestones = session.execute(
        select(func.count())
        .select_from(Milestone)
        .where(col(Milestone.agency_id) == agency_id, col(Milestone.ref) == ref)
    ).scalar_one()
    if encoding is None and assignment is None and not milestones:
        return None, None
    times = [
        t
        for t in (getattr(encoding, "updated_at", None), getattr(assignment, "updated_at", None))
        if t
    ]
    return (
        RecordOut(
            agency_id=agency_id,
            ref=ref,
            has_encoding=encoding is not None,
            epoch=encoding.epoch if encoding else None,
            case_manager_id=assignment.case_manager_id if assignment else None,
            milestones=int(milestones),
            updated_at=max(times) if times else None,
        ),
        assignment.case_manager_id if assignment else None,
    )


def holder(session: Session, agency_id: str, ref: str) -> tuple[bool, str | None]:
    """Whether the hub knows the record (an encoding or an assignment), and the case
    manager assigned to it: what deciding who may ask about it needs."""
    assignment = session.get(Assignment, (agency_id, ref))
    exists = assignment is not None or session.get(Encoding, (agency_id, ref)) is not None
    return exists, assignment.case_manager_id if assignment else None
