"""A case manager's notification settings: for each kind of notification, by email and
in the feed, in the feed only, or not at all. The hub keeps the choice and queues
accordingly; emails never name a client whatever is chosen."""

from __future__ import annotations

from typing import get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contract.answers import Delivery
from contract.errors import HubCallError, HubRefused
from linkage_node.web.pages import (
    form_expired,
    hub_trouble,
    hub_unanswered,
    node_of,
    page,
    signed_in,
    to_sign_in,
)
from linkage_node.web.session import StaffSession

router = APIRouter()
CHOICES = {
    "email": "By email and on my caseload",
    "in_app": "On my caseload only",
    "off": "Not at all",
}
NOTICE = "Your notification settings are saved."


def _case_manager(request: Request) -> StaffSession | Response:
    """The signed-in case manager, or the page to show instead."""
    session = signed_in(request)
    if session is None:
        return to_sign_in(request)
    if session.role != "case_manager":
        return page(
            request,
            "error.html",
            403,
            title="No notifications",
            message="Notifications go to the case managers assigned to clients.",
        )
    return session


@router.get("/notifications/settings", response_class=HTMLResponse)
def settings_form(request: Request) -> Response:
    """The form, with each kind's current choice."""
    session = _case_manager(request)
    if isinstance(session, Response):
        return session
    node = node_of(request)
    try:
        current = node.hub.notification_preferences(token=lambda: node.token_for(session))
    except HubRefused as refused:
        return hub_trouble(request, refused.status)
    except HubCallError as exc:
        return hub_unanswered(request, exc)
    saved = request.query_params.get("saved") == "1"
    return page(
        request,
        "notification_settings.html",
        preferences=current,
        choices=CHOICES,
        notice=NOTICE if saved else None,
    )


@router.post("/notifications/settings")
async def save_settings(request: Request) -> Response:
    """Store the choices (each kind one of the three), then show the form again."""
    session = _case_manager(request)
    if isinstance(session, Response):
        return session
    node = node_of(request)
    form = await request.form()
    if not node.signer.check_csrf(session.csrf, str(form.get("csrf", ""))):
        return form_expired(request)
    allowed = set(get_args(Delivery))
    changes = {
        key.removeprefix("kind-"): str(value)
        for key, value in form.items()
        if key.startswith("kind-") and str(value) in allowed
    }
    try:
        node.hub.notification_preferences(changes, token=lambda: node.token_for(session))
    except HubRefused as refused:
        return hub_trouble(request, refused.status)
    except HubCallError as exc:
        return hub_unanswered(request, exc)
    return RedirectResponse("/notifications/settings?saved=1", status_code=303)
