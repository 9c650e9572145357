"""A supervisor's team: the clients of everyone who reports to them, directly or through
others, with what needs attention first, filterable by case manager and office.

The hub decides whose clients these are (the org structure the node sent with the staff
file) and what may be said about each; the node adds the names. A supervisor opens a
client from here like a case manager opens their own.
"""

from __future__ import annotations

import csv
import io
import statistics
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from charts import monthly_chart
from contract import TeamDashboardOut
from contract.errors import HubRefused, HubUnreachable
from contract.milestones import STUCK_REASONS
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
from linkage_node.web.session import StaffSession

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


def _supervisor(request: Request) -> StaffSession | Response:
    """The signed-in supervisor, or the page to show instead."""
    session = signed_in(request)
    if session is None:
        return to_sign_in(request)
    if session.role != "supervisor":
        return page(
            request, "error.html", 403, title="No team", message="Only supervisors have a team."
        )
    return session


@router.get("/team", response_class=HTMLResponse)
def team(request: Request, case_manager: str = "", office: str = "") -> Response:
    """The signed-in supervisor's team caseload."""
    session = _supervisor(request)
    if isinstance(session, Response):
        return session
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


def _dashboard(request: Request) -> TeamDashboardOut | Response:
    session = _supervisor(request)
    if isinstance(session, Response):
        return session
    node = node_of(request)
    try:
        return node.hub.team_dashboard(token=lambda: node.token_for(session))
    except HubUnreachable as away:
        return hub_unanswered(request, away)
    except HubRefused as refused:
        return hub_trouble(request, refused.status)


@router.get("/team/dashboard", response_class=HTMLResponse)
def team_dashboard(request: Request) -> Response:
    """What gets the team's clients stuck, counted (small counts suppressed)."""
    answer = _dashboard(request)
    if isinstance(answer, Response):
        return answer
    charts = [
        monthly_chart(
            f"chart-{name}",
            title,
            answer.months,
            values,
            benchmark=_median(values),
            benchmark_label="12-month median",
        )
        for name, title, values in (
            ("stuck", "Milestones newly stuck", answer.newly_stuck),
            ("completed", "Milestones completed", answer.completed),
        )
    ]
    return page(request, "team_dashboard.html", d=answer, reasons=STUCK_REASONS, charts=charts)


def _median(values: list[int | None]) -> float | None:
    """The benchmark line: the median of the months published (three at least)."""
    shown = [v for v in values if v is not None]
    return float(statistics.median(shown)) if len(shown) >= 3 else None


@router.get("/team/dashboard.csv")
def team_dashboard_csv(request: Request) -> Response:
    """The same numbers as CSV: `section, key, month, value` (`suppressed` where hidden)."""
    answer = _dashboard(request)
    if isinstance(answer, Response):
        return answer
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "month", "value"])

    def shown(value: int | None) -> str:
        return "suppressed" if value is None else str(value)

    for month, stuck, done in zip(answer.months, answer.newly_stuck, answer.completed, strict=True):
        writer.writerow(["newly_stuck", "", month, shown(stuck)])
        writer.writerow(["completed", "", month, shown(done)])
    for reason, n in answer.stuck_by_reason.items():
        writer.writerow(["stuck_by_reason", reason, "", shown(n)])
    writer.writerow(["stuck_total", "", "", shown(answer.stuck_total)])
    for staff, n in answer.overdue_by_case_manager.items():
        writer.writerow(["overdue", staff, "", shown(n)])
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="team-dashboard.csv"'},
    )
