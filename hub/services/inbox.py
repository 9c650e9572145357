"""A case manager's in-app notifications: their feed, and marking one read. Anyone
else's notification is treated as one that does not exist."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from hub.models import Notification

FEED_LENGTH = 50


def feed(session: Session, agency_id: str, staff: str) -> list[Notification]:
    """The newest notifications of `staff` at `agency_id`, newest first."""
    return list(
        session.execute(
            select(Notification)
            .where(
                col(Notification.agency_id) == agency_id,
                col(Notification.case_manager_id) == staff,
            )
            .order_by(col(Notification.notification_id).desc())
            .limit(FEED_LENGTH)
        ).scalars()
    )


def mark_read(
    session: Session, agency_id: str, staff: str, notification_id: int, *, at: datetime
) -> bool:
    """Mark one of `staff`'s notifications read (once); False when it is not theirs or
    does not exist. The caller commits."""
    row = session.get(Notification, notification_id)
    if row is None or row.agency_id != agency_id or row.case_manager_id != staff:
        return False
    if row.read_at is None:
        row.read_at = at
        session.add(row)
    return True
