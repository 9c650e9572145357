"""The caseload (every client assigned to the signed-in case manager, flagged shared
where the hub may say so, with what changed) and its notifications."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contract.errors import HubCallError, HubRefused, HubUnreachable
from linkage_node.web.pages import (
    form_expired,
    hub_trouble,
    node_of,
    page,
    signed_in,
    to_sign_in,
    witness_round,
)
from linkage_node.web.session import StaffSession

router = APIRouter()


@router.get("/caseload", response_class=HTMLResponse)
def caseload(request: Request) -> Response:
    """Every client assigned to the signed-in case manager, by name, with a shared flag."""
    session = signed_in(request)
    if session is None:
        return to_sign_in(request)
    if session.role != "case_manager":
        return _elsewhere(request, session)
    node = node_of(request)
    token = lambda: node.token_for(session)  # noqa: E731  (asked as this staff member)
    try:
        answer = node.hub.caseload(token=token)
    except HubUnreachable:
        return _local_caseload(request, session, "The hub is not answering")
    except HubRefused as refused:
        return _local_caseload(request, session, f"The hub answered {refused.status}")
    refused_page = witness_round(request)
    if refused_page is not None:
        return refused_page
    try:
        notes = [n for n in node.hub.notifications(token=token) if not n.read]
    except HubCallError:
        notes = []  # the caseload matters more than its notices
    with node.state() as state:
        names = state.clients_by_ref([c.record_ref for c in answer.clients])
    clients = sorted(
        (
            {**c.model_dump(), **names[c.record_ref]._asdict()}
            for c in answer.clients
            if c.record_ref in names
        ),
        key=lambda c: (not c["shared"], c["name"]),
    )
    return page(
        request,
        "caseload.html",
        clients=clients,
        previous=answer.previous_visit,
        notifications=notes,
    )


def _elsewhere(request: Request, session: StaffSession) -> Response:
    """Staff without a caseload of their own: a supervisor's is their team's."""
    if session.role == "supervisor":
        return RedirectResponse("/team", status_code=303)
    return page(
        request,
        "error.html",
        403,
        title="No caseload",
        message="Only case managers have a caseload.",
    )


def _local_caseload(request: Request, session: StaffSession, why: str) -> HTMLResponse:
    """The caseload from the node's own directory, when the hub cannot say who is shared:
    the clients are local data, and a case manager still needs the list."""
    state = node_of(request).state()
    try:
        rows = [r for r in state.directory() if r.case_manager_id == session.staff_id]
    finally:
        state.close()
    clients: list[dict[str, Any]] = sorted(
        (
            {
                "record_id": r.record_id,
                "name": r.name,
                "date_of_birth": r.date_of_birth,
                "shared": None,
                "programs": [],
                "past_programs": [],
                "changes": [],
            }
            for r in rows
        ),
        key=lambda c: str(c["name"]),
    )
    return page(
        request, "caseload.html", clients=clients, previous=None, notifications=[], hub_away=why
    )


@router.post("/notifications/{notification_id}/read")
def mark_read(
    request: Request, notification_id: int, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Mark one of the signed-in case manager's notifications read at the hub."""
    session = signed_in(request)
    if session is None:
        return to_sign_in(request)
    node = node_of(request)
    if not node.signer.check_csrf(session.csrf, csrf):
        return form_expired(request)
    try:
        node.hub.mark_read(notification_id, token=lambda: node.token_for(session))
    except HubRefused as refused:
        return hub_trouble(request, refused.status)
    if request.headers.get("HX-Request"):
        return HTMLResponse("")  # htmx removes the item in place
    return RedirectResponse("/caseload", status_code=303)
