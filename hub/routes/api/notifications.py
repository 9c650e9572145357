"""/v1/notifications: the signed-in case manager's in-app feed and their preferences."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, status

from contract import NotificationOut, NotificationPreferenceOut, NotificationPreferencesIn
from hub.auth import require_case_manager
from hub.deps import HubDep, PrincipalDep, SessionDep
from hub.errors import NotFound
from hub.services import inbox, preferences
from hub.services.notify import describe, message_text

router = APIRouter(prefix="/v1/notifications", tags=["clients"])


@router.get("", summary="The caller's notifications, newest first")
def list_notifications(
    hub: HubDep, session: SessionDep, principal: PrincipalDep
) -> list[NotificationOut]:
    """Case managers only; each sees only their own."""
    agency = require_case_manager(principal)
    return [
        NotificationOut(
            notification_id=row.notification_id or 0,
            created_at=row.created_at,
            message=message_text(hub.settings, agency, row.kind),
            kind=row.kind,
            read=row.read_at is not None,
        )
        for row in inbox.feed(session, agency, principal.subject)
    ]


@router.get("/preferences", summary="How the caller wants each kind of notification")
def get_preferences(
    session: SessionDep, principal: PrincipalDep
) -> list[NotificationPreferenceOut]:
    """Case managers only: every kind, with `email` (the default), `in_app` or `off`."""
    agency = require_case_manager(principal)
    return _preferences_out(preferences.preferences(session, agency, principal.subject))


@router.put("/preferences", summary="Change how the caller wants notifications")
def put_preferences(
    body: NotificationPreferencesIn, session: SessionDep, principal: PrincipalDep
) -> list[NotificationPreferenceOut]:
    """Kinds not named stay as they were; the change applies to what is queued next."""
    agency = require_case_manager(principal)
    now = preferences.set_preferences(
        session, agency, principal.subject, dict(body.preferences), at=datetime.now(UTC)
    )
    session.commit()
    return _preferences_out(now)


def _preferences_out(chosen: dict[str, str]) -> list[NotificationPreferenceOut]:
    return [
        NotificationPreferenceOut.model_validate(
            {"kind": kind, "delivery": delivery, "description": describe(kind)}
        )
        for kind, delivery in chosen.items()
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
    if not inbox.mark_read(
        session, agency, principal.subject, notification_id, at=datetime.now(UTC)
    ):
        raise NotFound()
    session.commit()
