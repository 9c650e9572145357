"""Helpers every page uses: the templates, the signed-in staff member, the standard
answers (sign in, not found, the hub in trouble, a ledger alarm) and "my client"."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from consent import WitnessAlarm
from contract.errors import HubCallError
from linkage_node.state_rows import DirectoryEntry
from linkage_node.web import answer_view
from linkage_node.web.node import HERE, HTMX, Node
from linkage_node.web.session import SESSION_COOKIE, StaffSession

TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.filters["day"] = answer_view.day
TEMPLATES.env.filters["minute"] = answer_view.minute


def node_of(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def signed_in(request: Request) -> StaffSession | None:
    """The session of a cookie whose account still exists, is enabled, and has not
    ended its sessions since (sign-out, password reset, disable): checked on every
    request, once."""
    if hasattr(request.state, "staff"):
        cached: StaffSession | None = request.state.staff
        return cached
    node = node_of(request)
    session = node.signer.open(request.cookies.get(SESSION_COOKIE))
    if session is not None and session.via == "local":
        state = node.state()
        try:
            account = state.accounts.get(session.username)
        finally:
            state.close()
        if (
            account is None
            or account.disabled
            or account.version != session.version
            or (account.staff_id, account.role) != (session.staff_id, session.role)
        ):
            session = None
    request.state.staff = session
    return session


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; `staff=None` renders it signed out (a fault page, which must not
    depend on the state database that may be what failed)."""
    node = node_of(request)
    session = context.pop("staff") if "staff" in context else signed_in(request)
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "agency": node.settings.agency,
            "staff": session,
            "csrf": node.signer.csrf_token(session.csrf) if session else "",
            "htmx": HTMX.exists(),
            "sso_label": node.settings.oidc_label if node.sso else None,
            **context,
        },
        status_code=status,
    )


def keep_cookie(
    response: Response, request: Request, name: str, value: str, path: str = "/"
) -> None:
    """A session-scoped cookie: HttpOnly, SameSite=Strict, kept as long as sessions."""
    node = node_of(request)
    response.set_cookie(
        name,
        value,
        max_age=node.signer.cookie_max_age,
        httponly=True,
        samesite="strict",
        secure=node.settings.cookie_secure,
        path=path,
    )


def to_sign_in(request: Request | None = None) -> RedirectResponse:
    """To the sign-in page; from a page asked for by GET, with the way back to it (the
    sign-in returns there, so an expired session costs a sign-in, not the page)."""
    if request is None or request.method != "GET":
        return RedirectResponse("/sign-in", status_code=303)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?{urlencode({'next': here})}", status_code=303)


def not_found(request: Request) -> HTMLResponse:
    return page(
        request,
        "error.html",
        404,
        title="Not found",
        message="There is no client with that case number on your caseload.",
    )


def form_expired(request: Request, advice: str = "Reload the page and try again.") -> HTMLResponse:
    """A form whose anti-forgery token did not match (expired, or not from this node)."""
    return page(request, "error.html", 400, title="Form expired", message=advice)


def hub_trouble(request: Request, status: int) -> HTMLResponse:
    """The hub answered with an error (`status`) where the page needed its answer."""
    return page(
        request,
        "error.html",
        502,
        title="The hub could not answer",
        message=f"The hub answered {status}. Try again in a minute; if it "
        "persists, tell your data steward.",
    )


def alarm_page(request: Request, alarm: WitnessAlarm) -> HTMLResponse:
    """Answers are withheld while the hub shows a history this node never witnessed."""
    what = {
        "rollback": "went back to an older state",
        "fork": "showed a different history from the one this node saw",
    }.get(alarm.kind, "showed entries that do not match what it signed")
    return page(
        request,
        "error.html",
        503,
        title="Answers are withheld",
        alarm=(
            f"The hub's consent ledger {what}. Consent that was revoked could look valid "
            "again, so this node shows no answers until the hub is fixed. Your data "
            "steward has the evidence: `pprl node witness status`."
        ),
        message="Nothing about this client is shown. Try again later; if this stays, "
        "tell your data steward now.",
    )


def hub_unanswered(request: Request, exc: HubCallError) -> HTMLResponse:
    """The hub could not be asked what a page needs (a witness round, a proof check)."""
    return page(
        request,
        "error.html",
        502,
        title="The hub could not answer",
        message=f"{exc}. Try again in a minute.",
    )


def witness_round(request: Request) -> Response | None:
    """A witness round before showing anything the hub said; the page to show instead
    on an alarm or when the hub cannot be asked."""
    node = node_of(request)
    if node.witness is None:
        return None
    try:
        node.witness.run(node.ledger)
    except WitnessAlarm as alarm:
        return alarm_page(request, alarm)
    except HubCallError as exc:
        return hub_unanswered(request, exc)
    return None


def my_client(request: Request, session: StaffSession, record_id: str) -> DirectoryEntry | None:
    """The node's record for a case number, if the signed-in staff may open it."""
    state = node_of(request).state()
    try:
        found = state.client(record_id)
    finally:
        state.close()
    if found is None or (
        session.role == "case_manager" and found.case_manager_id != session.staff_id
    ):
        return None
    return found
