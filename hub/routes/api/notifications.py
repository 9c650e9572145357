"""/v1/notifications: the signed-in case manager's in-app feed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, status
from sqlalchemy import select
from sqlmodel import col

from hub.auth import require_case_manager
from hub.deps import HubDep, PrincipalDep, SessionDep
from hub.errors import NotFound
from hub.models import Notification
from hub.schemas import NotificationOut
from hub.services.notify import message_text

router = APIRouter(prefix="/v1/notifications", tags=["clients"])


@router.get("", summary="The caller's notifications, newest first")
def list_notifications(
    hub: HubDep, session: SessionDep, principal: PrincipalDep
) -> list[NotificationOut]:
    """Case managers only; each sees only their own."""
    agency = require_case_manager(principal)
    rows = session.execute(
        select(Notification)
        .where(
            col(Notification.agency_id) == agency,
            col(Notification.case_manager_id) == principal.subject,
        )
        .order_by(col(Notification.notification_id).desc())
        .limit(50)
    ).scalars()
    return [
        NotificationOut(
            notification_id=row.notification_id or 0,
            created_at=row.created_at,
            message=message_text(hub.settings, agency, row.kind),
            kind=row.kind,
            read=row.read_at is not None,
        )
        for row in rows
    ]


@router.post(
    "/{notification_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Mark one of the caller's notifications read",
)
def mark_read(
    notification_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: PrincipalDep,
) -> None:
    """Anyone else's notification answers like one that does not exist."""
    agency = require_case_manager(principal)
    row = session.get(Notification, notification_id)
    if row is None or row.agency_id != agency or row.case_manager_id != principal.subject:
        raise NotFound()
    if row.read_at is None:
        row.read_at = datetime.now(UTC)
        session.add(row)
        session.commit()
