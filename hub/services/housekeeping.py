"""Housekeeping notifications (issue 20): when something about one agency's record changes
that the case managers of the linked records would want to know (the client left the
program, another case manager took the case), each of them gets one message. Like every
notification it names no client and no program (`hub.services.notify`): the caseload and
the client page say what that case manager may see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import Session

from hub.db import table_of
from hub.models import Assignment
from hub.services.notify import confident_partners, queue_for_case_managers

_ASSIGNMENT: Table = table_of(Assignment)


def tell_linked_case_managers(
    session: Session, agency_id: str, refs: list[str], *, kind: str, now: datetime
) -> int:
    """Queue `kind` for the case managers of other agencies' records confidently linked
    to `agency_id`'s `refs`; returns how many messages were queued."""
    if not refs:
        return 0
    records = [(agency_id, ref) for ref in refs]
    partners = confident_partners(session, records)
    told = sorted(
        {other for record in records for other in partners.get(record, ()) if other[0] != agency_id}
    )
    return queue_for_case_managers(session, told, kind=kind, now=now)


def reassigned(session: Session, agency_id: str, rows: list[dict[str, Any]]) -> list[str]:
    """Before `rows` (assignment upserts) are stored: the records whose case manager
    changes (a first assignment is not a change)."""
    wanted = {str(r["ref"]): str(r["case_manager_id"]) for r in rows}
    refs = sorted(wanted)
    changed = []
    for start in range(0, len(refs), 500):
        for ref, staff in session.execute(
            select(_ASSIGNMENT.c.ref, _ASSIGNMENT.c.case_manager_id).where(
                _ASSIGNMENT.c.agency_id == agency_id,
                _ASSIGNMENT.c.ref.in_(refs[start : start + 500]),
            )
        ):
            if wanted[str(ref)] != staff:
                changed.append(str(ref))
    return sorted(changed)
