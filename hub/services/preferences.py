"""Each staff member's notification preferences: per kind, `email` (the feed and an
email naming no client; the default), `in_app` (the feed only) or `off`.

The queue asks `delivery_for` before adding a message: `off` adds none, `in_app` adds
one that is never emailed. Changing a preference changes what is queued from then on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import select
from sqlmodel import Session, col

from contract.answers import NotificationKind
from hub.models import NotificationPreference

KINDS: tuple[str, ...] = get_args(NotificationKind)
DEFAULT = "email"


def preferences(session: Session, agency_id: str, staff: str) -> dict[str, str]:
    """Every kind with the staff member's delivery for it."""
    chosen = {
        row.kind: row.delivery
        for row in session.execute(
            select(NotificationPreference).where(
                col(NotificationPreference.agency_id) == agency_id,
                col(NotificationPreference.staff_id) == staff,
            )
        ).scalars()
    }
    return {kind: chosen.get(kind, DEFAULT) for kind in KINDS}


def set_preferences(
    session: Session, agency_id: str, staff: str, changes: Mapping[Any, str], *, at: datetime
) -> dict[str, str]:
    """Store `changes` (kind -> delivery); returns the preferences now. The caller
    commits."""
    for kind, delivery in changes.items():
        row = session.get(NotificationPreference, (agency_id, staff, kind))
        if row is None:
            row = NotificationPreference(
                agency_id=agency_id, staff_id=staff, kind=kind, delivery=delivery, updated_at=at
            )
        row.delivery, row.updated_at = delivery, at
        session.add(row)
    session.flush()
    return preferences(session, agency_id, staff)


def deliveries(
    session: Session, staff: list[tuple[str, str]], kind: str
) -> dict[tuple[str, str], str]:
    """The delivery of `kind` for each (agency, staff) in `staff`."""
    out = dict.fromkeys(staff, DEFAULT)
    for agency in sorted({a for a, _ in staff}):
        ids = sorted({s for a, s in staff if a == agency})
        for start in range(0, len(ids), 500):
            rows = session.execute(
                select(
                    col(NotificationPreference.staff_id), col(NotificationPreference.delivery)
                ).where(
                    col(NotificationPreference.agency_id) == agency,
                    col(NotificationPreference.kind) == kind,
                    col(NotificationPreference.staff_id).in_(ids[start : start + 500]),
                )
            )
            out.update({(agency, s): d for s, d in rows})
    return out
