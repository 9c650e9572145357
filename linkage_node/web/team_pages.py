"""A supervisor's team: the clients of everyone who reports to them, directly or through
others, with what needs attention first, filterable by case manager and office.

The hub decides whose clients these are (the org structure the node sent with the staff
file) and what may be said about each; the node adds the names. A supervisor opens a
client from here like a case manager opens their own.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from contract.errors import HubRefused, HubUnreachable
from keys import is_staff_id
from linkage_node.web.pages import (
    hub_trouble,
    hub_unanswered,
    node_of,
    page,
    signed_in,
    to_sign_in,
    witness_round,
)

router = APIRouter()


def _attention(client: dict[str, Any]) -> list[str]:
    said = []
    if client["conflicts"]:
        required = client["non_negotiable_conflicts"]
        said.append(
            f"{client['conflicts']} conflict{'s' * (client['conflicts'] > 1)}"
            + (f" ({required} with a required milestone)" if required else "")
        )
    if client["stuck"]:
        said.append(f"{client['stuck']} stuck")
    if client["overdue"]:
        said.append(f"{client['overdue']} overdue")
    return said


@router.get("/team", response_class=HTMLResponse)
def team(request: Request, case_manager: str = "", office: str = "") -> Response:
    """The signed-in supervisor's team caseload."""
    session = signed_in(request)
    if session is None:
        return to_sign_in()
    if session.role != "supervisor":
        return page(
            request, "error.html", 403, title="No team", message="Only supervisors have a team."
        )
    node = node_of(request)
    chosen = case_manager if is_staff_id(case_manager) else None
    where = office.strip()[:200] or None
    try:
        answer = node.hub.team(
            case_manager=chosen, office=where, token=lambda: node.token_for(session)
        )
    except HubUnreachable as away:
        return hub_unanswered(request, away)
    except HubRefused as refused:
        return hub_trouble(request, refused.status)
    refused_page = witness_round(request)
    if refused_page is not None:
        return refused_page
    with node.state() as state:
        names = state.clients_by_ref([c.record_ref for c in answer.clients])
    clients = [
        {**c.model_dump(), **names[c.record_ref]._asdict()}
        for c in answer.clients
        if c.record_ref in names
    ]
    for client in clients:
        client["attention"] = _attention(client)
    return page(
        request,
        "team.html",
        clients=clients,
        members=answer.members,
        offices=sorted({m.office for m in answer.members if m.office}),
        chosen=chosen or "",
        office=where or "",
        previous=answer.previous_visit,
    )
