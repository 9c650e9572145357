"""The caseload (every client assigned to the signed-in case manager, flagged shared
where the hub may say so, with what changed) and its notifications."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contract.errors import HubUnreachable
from linkage_node.web.pages import hub_trouble, node_of, page, signed_in, to_sign_in, witness_round
from linkage_node.web.session import StaffSession

router = APIRouter()


@router.get("/caseload", response_class=HTMLResponse)
def caseload(request: Request) -> Response:
    """Every client assigned to the signed-in case manager, by name, with a shared flag."""
    session = signed_in(request)
    if session is None:
        return to_sign_in()
    if session.role != "case_manager":
        return page(
            request,
            "error.html",
            403,
            title="No caseload",
            message="Only case managers have a caseload.",
        )
    node = node_of(request)
    try:
        answer = node.ask(session, "/v1/caseload")
    except HubUnreachable:
        return _local_caseload(request, session, "The hub is not answering")
    if answer.status_code != 200:
        return _local_caseload(request, session, f"The hub answered {answer.status_code}")
    refused = witness_round(request)
    if refused is not None:
        return refused
    feed = node.ask(session, "/v1/notifications")
    body = answer.json()
    state = node.state()
    try:
        names = state.clients_by_ref([c["record_ref"] for c in body["clients"]])
    finally:
        state.close()
    clients = sorted(
        (
            {
                **c,
                "record_id": names[c["record_ref"]][0],
                "name": names[c["record_ref"]][1],
                "date_of_birth": names[c["record_ref"]][2],
            }
            for c in body["clients"]
            if c["record_ref"] in names
        ),
        key=lambda c: (not c["shared"], c["name"]),
    )
    notes = [n for n in (feed.json() if feed.status_code == 200 else []) if not n["read"]]
    return page(
        request,
        "caseload.html",
        clients=clients,
        previous=body["previous_visit"],
        notifications=notes,
    )


def _local_caseload(request: Request, session: StaffSession, why: str) -> HTMLResponse:
    """The caseload from the node's own directory, when the hub cannot say who is shared:
    the clients are local data, and a case manager still needs the list."""
    state = node_of(request).state()
    try:
        rows = [r for r in state.directory() if r[4] == session.staff_id]
    finally:
        state.close()
    clients: list[dict[str, Any]] = sorted(
        (
            {
                "record_id": r[1],
                "name": r[2],
                "date_of_birth": r[3],
                "shared": None,
                "programs": [],
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
        return to_sign_in()
    node = node_of(request)
    if not node.signer.check_csrf(session.csrf, csrf):
        return page(
            request,
            "error.html",
            400,
            title="Form expired",
            message="Reload the page and try again.",
        )
    answer = node.ask(session, f"/v1/notifications/{notification_id}/read", method="POST")
    if answer.status_code not in (204, 404):
        return hub_trouble(request, answer.status_code)
    if request.headers.get("HX-Request"):
        return HTMLResponse("")  # htmx removes the item in place
    return RedirectResponse("/caseload", status_code=303)
