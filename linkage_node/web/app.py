"""The case managers' pages, served by the agency node (`pprl node serve`).

The node knows its clients' names and case numbers; the hub does not. A case manager
signs in here (a local account store with argon2 hashes), opens their caseload and a
client, and the node asks the hub about that client's pseudonymous reference with a
short-lived token it issues for the signed-in case manager. The hub never learns which
name was looked up. Server-rendered, no JavaScript needed, every form CSRF-protected.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from consent import WitnessAlarm, bundle_proof
from contract.client import HubClient
from contract.errors import HubCallError, HubUnreachable
from keys import AgencyIdentity, Role, canonical, issue_token
from keys.files import too_open
from linkage_node.consent_terms import ConsentTemplate, canonical_grant_id
from linkage_node.errors import StateError
from linkage_node.hub_client import agency_token, hub_audience
from linkage_node.job import STATE_FILE
from linkage_node.state import DirectoryEntry, NodeState
from linkage_node.transport import checked_hub_url
from linkage_node.web import answer_view, ops
from linkage_node.web.failures import install_error_pages
from linkage_node.web.session import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    SessionSigner,
    StaffSession,
    load_or_create_key,
)
from linkage_node.web.sign_in_guard import BoundedHashing, SignInThrottle, log_attempt
from linkage_node.witness import AnswerCheck, NodeWitness

_HERE = Path(__file__).parent
_HASHER = PasswordHasher()
_HTMX = _HERE / "static" / "vendor" / "htmx.min.js"
# Verified against when a username is unknown, so both failures take the same time.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
ROLES = ("case_manager", "supervisor")


class NodeWebSettings(BaseSettings):
    """Settings of the node's pages (`PPRL_NODE_*`)."""

    model_config = SettingsConfigDict(env_prefix="PPRL_NODE_", frozen=True)

    agency: str
    hub_url: str
    state_dir: Path | None = None
    key_dir: Path | None = None
    log_public_key_file: Path | None = Field(
        default=None,
        description="The hub's published log key (.vkey), pinned the first time it is given: "
        "the node witnesses the ledger and checks every grant an answer relies on.",
    )
    session_key_file: Path | None = None
    metrics_token_file: Path | None = Field(
        default=None, description="A file holding the token Prometheus sends for /metrics."
    )
    cookie_secure: bool = Field(
        default=False,
        description="Mark cookies Secure (`pprl node serve` does when it listens beyond "
        "this machine, where a TLS proxy must front it).",
    )
    token_minutes: int = Field(default=5, ge=1, le=15)
    consent_form_file: Path | None = Field(
        default=None,
        description="The deployment's universal consent form (JSON): the programs and "
        "kinds of information one signing covers, pre-ticked on the Record consent form.",
    )

    @property
    def state_path(self) -> Path:
        """The node's state database."""
        return (self.state_dir or Path("pprl-node") / self.agency) / STATE_FILE


def hash_password(password: str) -> str:
    """An argon2id hash for the account store."""
    return _HASHER.hash(password)


@dataclass
class _Node:
    settings: NodeWebSettings
    identity: AgencyIdentity
    signer: SessionSigner
    hub: HubClient  # with the node's own token; pages ask as the signed-in staff member
    witness: NodeWitness | None
    metrics_token: bytes | None = None
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    hashing: BoundedHashing = field(default_factory=BoundedHashing)
    log_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    consent_template: ConsentTemplate = field(default_factory=ConsentTemplate)

    @property
    def ledger(self) -> HubClient:
        """The hub as the node's witness reads it, with the node's own token."""
        return self.hub

    def state(self) -> NodeState:
        return NodeState(self.settings.state_path, self.settings.agency)

    def token_for(self, session: StaffSession) -> str:
        return issue_token(
            self.identity,
            subject=session.staff_id,
            audience=hub_audience(),
            roles=(Role(session.role),),
            lifetime=timedelta(minutes=self.settings.token_minutes),
        )

    def ask(self, session: StaffSession, path: str, *, method: str = "GET") -> httpx.Response:
        """The hub's answer for the signed-in staff member; HubUnreachable when there is
        none (the pages show their "hub can't be reached" page)."""
        return self.hub.request(method, path, token=lambda: self.token_for(session))


def create_node_app(
    settings: NodeWebSettings,
    *,
    identity: AgencyIdentity | None = None,
    hub_client: httpx.Client | None = None,
    passphrase: str | None = None,
) -> FastAPI:
    """Build the node's pages. `hub_client` (tests) replaces the HTTP client to the hub."""
    key_dir = settings.key_dir or Path("pprl-keys") / settings.agency
    session_key = settings.session_key_file or settings.state_path.parent / "session.key"
    agency = identity or AgencyIdentity.load(key_dir, passphrase=passphrase)
    node = _Node(
        settings=settings,
        identity=agency,
        signer=SessionSigner(load_or_create_key(session_key)),
        hub=HubClient(
            str(hub_client.base_url) if hub_client else checked_hub_url(settings.hub_url),
            agency_token(agency, lifetime=timedelta(minutes=5)),
            timeout=10,
            http=hub_client,
        ),
        witness=NodeWitness.open(settings.state_path.parent, agency, settings.log_public_key_file),
        consent_template=ConsentTemplate.load(settings.consent_form_file),
    )
    app = FastAPI(
        title=f"pprl node {settings.agency}", docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.node = node
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.middleware("http")(_security_headers)
    from linkage_node.web import consent_pages  # its routes use this module's helpers

    app.include_router(router)
    app.include_router(consent_pages.router)
    app.include_router(ops.router)
    install_error_pages(app, _page)
    return app


def _token(path: Path | None) -> bytes | None:
    """A scraper's token from an owner-only file."""
    if path is None:
        return None
    if too_open(path):
        raise StateError(f"{path} is readable by other users", f"Run `chmod 600 {path}`.")
    return path.read_bytes().strip()


async def _security_headers(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


router = APIRouter()
_TEMPLATES = Jinja2Templates(directory=_HERE / "templates")
_TEMPLATES.env.filters["day"] = answer_view.day


def _node(request: Request) -> _Node:
    node: _Node = request.app.state.node
    return node


def _signed_in(request: Request) -> StaffSession | None:
    """The session of a cookie whose account still exists, is enabled, and has not
    ended its sessions since (sign-out, password reset, disable): checked on every
    request, once."""
    if hasattr(request.state, "staff"):
        cached: StaffSession | None = request.state.staff
        return cached
    node = _node(request)
    session = node.signer.open(request.cookies.get(SESSION_COOKIE))
    if session is not None:
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


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; `staff=None` renders it signed out (a fault page, which must not
    depend on the state database that may be what failed)."""
    node = _node(request)
    session = context.pop("staff") if "staff" in context else _signed_in(request)
    return _TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "agency": node.settings.agency,
            "staff": session,
            "csrf": node.signer.csrf_token(session.csrf) if session else "",
            "htmx": _HTMX.exists(),
            **context,
        },
        status_code=status,
    )


def _to_sign_in() -> RedirectResponse:
    return RedirectResponse("/sign-in", status_code=303)


def _not_found(request: Request) -> HTMLResponse:
    return _page(
        request,
        "error.html",
        404,
        title="Not found",
        message="There is no client with that case number on your caseload.",
    )


def _hub_trouble(request: Request, answer: httpx.Response) -> HTMLResponse:
    return _page(
        request,
        "error.html",
        502,
        title="The hub could not answer",
        message=f"The hub answered {answer.status_code}. Try again in a minute; if it "
        "persists, tell your data steward.",
    )


def _alarm(request: Request, alarm: WitnessAlarm) -> HTMLResponse:
    """Answers are withheld while the hub shows a history this node never witnessed."""
    what = {
        "rollback": "went back to an older state",
        "fork": "showed a different history from the one this node saw",
    }.get(alarm.kind, "showed entries that do not match what it signed")
    return _page(
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


def _witness_round(request: Request) -> Response | None:
    """A witness round before showing anything the hub said; the page to show instead
    on an alarm or when the hub cannot be asked."""
    node = _node(request)
    if node.witness is None:
        return None
    try:
        node.witness.run(node.ledger)
    except WitnessAlarm as alarm:
        return _alarm(request, alarm)
    except HubCallError as exc:
        return _page(
            request,
            "error.html",
            502,
            title="The hub could not answer",
            message=f"{exc}. Try again in a minute.",
        )
    return None


def _my_client(request: Request, session: StaffSession, record_id: str) -> DirectoryEntry | None:
    """The node's record for a case number, if the signed-in staff may open it."""
    state = _node(request).state()
    try:
        found = state.client(record_id)
    finally:
        state.close()
    if found is None or (
        session.role == "case_manager" and found.case_manager_id != session.staff_id
    ):
        return None
    return found


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The caseload is the start page."""
    return RedirectResponse("/caseload", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> HTMLResponse:
    """The sign-in form, with a pre-session CSRF secret in its own cookie."""
    node = _node(request)
    pre = request.cookies.get(PRESESSION_COOKIE)
    fresh = pre or secrets.token_urlsafe(24)
    response = _page(request, "sign_in.html", form_csrf=node.signer.csrf_token(fresh), error=None)
    if not pre:
        response.set_cookie(
            PRESESSION_COOKIE,
            fresh,
            max_age=1800,
            httponly=True,
            samesite="strict",
            secure=node.settings.cookie_secure,
        )
    return response


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the password against the node's account store; the same answer for an
    unknown user and a wrong password, in the same time."""
    node = _node(request)
    if not node.signer.check_csrf(request.cookies.get(PRESESSION_COOKIE), csrf):
        return _page(
            request,
            "error.html",
            400,
            title="Form expired",
            message="The sign-in form expired. Open the sign-in page again.",
        )
    name = username.strip()
    address = request.client.host if request.client else "-"
    wait = node.throttle.wait(name, address)
    if wait > 0:
        log_attempt("throttled", name, address, node.log_key)
        throttled = _page(
            request,
            "sign_in.html",
            429,
            form_csrf=csrf,
            error=f"Too many failed attempts. Try again in {math.ceil(wait)} "
            "seconds; if you have forgotten your password, ask your data "
            "steward to reset it.",
        )
        throttled.headers["Retry-After"] = str(math.ceil(wait))
        return throttled
    state = node.state()
    try:
        account = state.accounts.get(name)
    finally:
        state.close()

    def check() -> bool:
        try:
            _HASHER.verify(account.password_hash if account else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return False
        return account is not None and not account.disabled

    ok = node.hashing.run(check)
    if ok is None:
        log_attempt("busy", name, address, node.log_key)
        return _page(
            request,
            "sign_in.html",
            503,
            form_csrf=csrf,
            error="The node is busy. Try again in a moment.",
        )
    if not ok or account is None:
        node.throttle.failed(name, address)
        log_attempt("failure", name, address, node.log_key)
        return _page(
            request, "sign_in.html", 401, form_csrf=csrf, error="Wrong username or password."
        )
    node.throttle.succeeded(name)
    log_attempt("success", name, address, node.log_key, account.staff_id)
    cookie, _ = node.signer.issue(
        account.staff_id, account.role, username=account.username, version=account.version
    )
    response = RedirectResponse("/caseload", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=node.signer.lifetime,
        httponly=True,
        samesite="strict",
        secure=node.settings.cookie_secure,
    )
    response.delete_cookie(PRESESSION_COOKIE)
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the session (CSRF-checked, so no other site can sign anyone out)."""
    session = _signed_in(request)
    if session is not None and not _node(request).signer.check_csrf(session.csrf, csrf):
        return _page(
            request,
            "error.html",
            400,
            title="Form expired",
            message="Reload the page and sign out again.",
        )
    if session is not None:
        # Ends this account's sessions everywhere, not only this cookie.
        state = _node(request).state()
        try:
            state.accounts.end_sessions(session.username)
        finally:
            state.close()
    response = _to_sign_in()
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/caseload", response_class=HTMLResponse)
def caseload(request: Request) -> Response:
    """Every client assigned to the signed-in case manager, by name, with a shared flag."""
    session = _signed_in(request)
    if session is None:
        return _to_sign_in()
    if session.role != "case_manager":
        return _page(
            request,
            "error.html",
            403,
            title="No caseload",
            message="Only case managers have a caseload.",
        )
    node = _node(request)
    try:
        answer = node.ask(session, "/v1/caseload")
    except HubUnreachable:
        return _local_caseload(request, session, "The hub is not answering")
    if answer.status_code != 200:
        return _local_caseload(request, session, f"The hub answered {answer.status_code}")
    refused = _witness_round(request)
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
    return _page(
        request,
        "caseload.html",
        clients=clients,
        previous=body["previous_visit"],
        notifications=notes,
    )


def _local_caseload(request: Request, session: StaffSession, why: str) -> HTMLResponse:
    """The caseload from the node's own directory, when the hub cannot say who is shared:
    the clients are local data, and a case manager still needs the list."""
    state = _node(request).state()
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
    return _page(
        request, "caseload.html", clients=clients, previous=None, notifications=[], hub_away=why
    )


@router.post("/notifications/{notification_id}/read")
def mark_read(
    request: Request, notification_id: int, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Mark one of the signed-in case manager's notifications read at the hub."""
    session = _signed_in(request)
    if session is None:
        return _to_sign_in()
    node = _node(request)
    if not node.signer.check_csrf(session.csrf, csrf):
        return _page(
            request,
            "error.html",
            400,
            title="Form expired",
            message="Reload the page and try again.",
        )
    answer = node.ask(session, f"/v1/notifications/{notification_id}/read", method="POST")
    if answer.status_code not in (204, 404):
        return _hub_trouble(request, answer)
    if request.headers.get("HX-Request"):
        return HTMLResponse("")  # htmx removes the item in place
    return RedirectResponse("/caseload", status_code=303)


def _shared(request: Request, record_id: str) -> tuple[DirectoryEntry, dict[str, Any]] | Response:
    """The signed-in case manager's client `record_id` (from the node's directory) and
    the hub's answer about it, or the page to show instead."""
    session = _signed_in(request)
    if session is None:
        return _to_sign_in()
    found = _my_client(request, session, record_id)
    if found is None:
        return _not_found(request)
    answer = _node(request).ask(session, f"/v1/clients/{found.ref}/shared")
    if answer.status_code == 404:
        return _not_found(request)
    if answer.status_code != 200:
        return _hub_trouble(request, answer)
    body: dict[str, Any] = answer.json()
    return found, body


def _checked(request: Request, body: dict[str, Any]) -> AnswerCheck | Response:
    """What this node proved about the grants an answer relies on, or the page to show
    instead (an alarm, or the hub unreachable)."""
    node = _node(request)
    if node.witness is None:
        return AnswerCheck(None, ("this node has no hub log key configured",))
    try:
        return node.witness.check_answer(node.ledger, body, node.identity.programs)
    except WitnessAlarm as alarm:
        return _alarm(request, alarm)
    except HubCallError as exc:
        return _page(
            request,
            "error.html",
            502,
            title="The hub could not answer",
            message=f"{exc}. Try again in a minute.",
        )


@router.get("/clients/{record_id}", response_class=HTMLResponse)
def client(request: Request, record_id: str) -> Response:
    """One client: the hub's answer about their reference, with names from the node, and
    the consents this agency has on file for them."""
    from linkage_node.web import consent_pages

    shared = _shared(request, record_id)
    if isinstance(shared, Response):
        return shared
    (_, rid, name, dob, _), body = shared
    check = _checked(request, body)
    if isinstance(check, Response):
        return check
    conflicted = {
        (m["program"], m["milestone_id"]) for c in body["conflicts"] for m in c["milestones"]
    }
    consent = consent_pages.section(request, rid)
    grant = request.query_params.get("grant", "").upper()
    notice = consent_pages.NOTICES.get(request.query_params.get("notice", ""))
    return _page(
        request,
        "client.html",
        client={"record_id": rid, "name": name, "date_of_birth": dob},
        answer=body,
        verified=check.verified,
        problems=check.problems,
        conflicted=conflicted,
        consent=consent,
        consent_problems=getattr(request.state, "consent_problems", []),
        notice=notice.format(grant=grant) if notice and canonical_grant_id(grant) else None,
        dates=consent_pages.default_dates(consent.template),
        signers=consent_pages.SIGNER_LABELS,
        classes=consent_pages.CLASS_LABELS,
        cards=answer_view.cards(body),
        needs=answer_view.NEEDS,
    )


@router.get("/clients/{record_id}/proof/{grant_index}", response_class=HTMLResponse)
def proof(request: Request, record_id: str, grant_index: int, download: bool = False) -> Response:
    """The checkpoint and inclusion proof of a grant an answer relied on, as a page, or
    (`?download=1`) as the bundle `pprl consent check-proof --input` checks offline."""
    shared = _shared(request, record_id)
    if isinstance(shared, Response):
        return shared
    _, body = shared
    for program in body["programs"]:
        for level in ("existence", "contact", "plan"):
            grant = program[level].get("grant")
            if grant and grant["index"] == grant_index and body.get("checkpoint"):
                check = _checked(request, body)
                if isinstance(check, Response):
                    return check
                bundle = bundle_proof(
                    grant_index,
                    canonical.b64decode(grant["leaf"]),
                    body["checkpoint"],
                    [bytes.fromhex(h) for h in grant["inclusion_proof"]],
                )
                if download:
                    name = f"consent-proof-{grant_index}.json"
                    return Response(
                        bundle,
                        media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'},
                    )
                document = json.dumps(json.loads(bundle), indent=2)
                return _page(
                    request,
                    "proof.html",
                    record_id=record_id,
                    grant=grant,
                    document=document,
                    verified=check.verified,
                    problems=check.problems,
                )
    return _not_found(request)


__all__ = ["ROLES", "NodeWebSettings", "create_node_app", "hash_password"]
