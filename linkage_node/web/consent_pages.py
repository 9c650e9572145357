"""Consent on the node's pages: the consents on file for a client, the "Record consent"
form, and revoking one (with a confirmation step; no JavaScript needed).

The same `ConsentDesk` as `pprl node consent` does the work, so a form recorded here and
the same form recorded from the command line are the same grant (the command finds it
already on the ledger). Case managers record consent for their own clients, supervisors
for any client of the agency. Every action is logged as a JSON line naming the staff id,
the grant id and the ledger entry, never the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consent import WitnessAlarm
from contract.errors import HubCallError
from linkage_node.consent_desk import ConsentDesk, GrantOnFile, Recorded
from linkage_node.consent_forms import MAX_FORM_BYTES, store_upload
from linkage_node.consent_terms import (
    DATA_CLASSES,
    DEFAULT_DURATION,
    SEEN_BY,
    SIGNERS,
    ConsentForm,
    ConsentTemplate,
)
from linkage_node.errors import NodeError
from linkage_node.job import REF_KEY_FILE
from linkage_node.refs import RefKey
from linkage_node.web.pages import (
    alarm_page,
    form_expired,
    my_client,
    node_of,
    page,
    signed_in,
    to_sign_in,
)
from linkage_node.web.session import StaffSession

log = logging.getLogger("pprl.node.consent")
router = APIRouter()


@dataclass
class ConsentSection:
    """What the client page shows under "Consent"."""

    on_file: list[GrantOnFile]
    programs: list[str]  # the other agencies' programs a form may name
    template: ConsentTemplate
    unavailable: str | None = None  # why consent cannot be shown or recorded here


def _desk(request: Request, state: Any) -> ConsentDesk | str:
    """The node's consent desk, or why there is none."""
    node = node_of(request)
    if node.witness is None:
        return (
            "This node does not witness the hub's consent ledger yet, so consent cannot be "
            "recorded or checked here. Ask your data steward to set the hub's log key."
        )
    key = node.settings.state_path.parent / REF_KEY_FILE
    if not key.exists():
        return "This node has not encoded a roster yet; ask your data steward."
    return ConsentDesk(
        node.identity, state, RefKey.load_or_create(key, create=False), node.witness, node.ledger
    )


def section(request: Request, record_id: str, *, refresh: bool = False) -> ConsentSection:
    """The consents on file for `record_id` and what the form offers (for client.html)."""
    node = node_of(request)
    template = node.consent_template
    state = node.state()
    try:
        desk = _desk(request, state)
        if isinstance(desk, str):
            return ConsentSection([], [], template, desk)
        try:
            on_file = desk.on_file(record_id, refresh=refresh)
            registered = desk.ledger.programs()
        except HubCallError:
            return ConsentSection([], [], template, "The hub is not answering; try later.")
    finally:
        state.close()
    programs = sorted(p for p in registered if p not in node.identity.programs)
    return ConsentSection(list(reversed(on_file)), programs, template)


@router.post("/clients/{record_id}/consent", response_class=HTMLResponse)
async def record_consent(  # noqa: PLR0917  (one field per part of the form)
    request: Request,
    record_id: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
    to: Annotated[list[str] | None, Form()] = None,
    classes: Annotated[list[str] | None, Form()] = None,
    signer: Annotated[str, Form(max_length=20)] = "client",
    seen_by: Annotated[str, Form(max_length=20)] = "chain",
    signed_on: Annotated[str, Form(max_length=10)] = "",
    expires: Annotated[str, Form(max_length=10)] = "",
    scan: Annotated[UploadFile | None, File()] = None,
    for_minors: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Record a signed form for one of the signed-in staff member's clients (and, signed
    by them as parent or guardian, for children of their household ticked on the form)."""
    staff = _staff_and_client(request, record_id, csrf)
    if isinstance(staff, Response):
        return staff
    content = await scan.read(MAX_FORM_BYTES + 1) if scan is not None else b""
    signed, ends = _date(signed_on), _date(expires) if expires else None
    problems = _form_problems(signed, expires, ends, to, classes, content)
    if problems or signed is None:
        return _client_again(request, record_id, problems)
    node = node_of(request)
    template = node.consent_template
    suffix = Path(scan.filename or "scan.pdf").suffix if scan is not None else ".pdf"

    def act(desk: ConsentDesk) -> Recorded:
        sha, stored = store_upload(node.settings.state_path.parent, content, suffix)
        form = ConsentForm(
            record_id=record_id,
            recipients=tuple(to or ()),
            data_classes=tuple(classes or ()),
            signed_on=signed,
            form_sha256=sha,
            collected_by=staff.staff_id,
            expires_on=ends,
            signer=signer,
            form_version=template.form_version,
            purposes=template.purposes,
            basis=template.basis,
            seen_by=seen_by if seen_by in SEEN_BY else "chain",
        )
        minors = _household_minors(desk, record_id, for_minors or [])
        if minors:
            return desk.record_for_family(
                form, minors, recorded_by=staff.staff_id, form_file=stored
            )[0]
        return desk.record(form, recorded_by=staff.staff_id, form_file=stored)

    done = _with_desk(request, record_id, act)
    if isinstance(done, Response):
        return done
    log.info(
        "consent recorded",
        extra={
            "event": "consent_recorded",
            "staff_id": staff.staff_id,
            "grant_id": done.grant_id,
            "ledger_index": done.ledger_index,
            "already_recorded": done.already,
        },
    )
    outcome = "already" if done.already else "recorded"
    return RedirectResponse(
        f"/clients/{record_id}?notice={outcome}&grant={done.grant_id}", status_code=303
    )


def _household_minors(desk: ConsentDesk, record_id: str, ticked: list[str]) -> list[str]:
    """The ticked case numbers that are in the client's household here (a form cannot
    reach beyond the household the roster lists)."""
    client = desk.state.client(record_id)
    if client is None or not ticked:
        return []
    household = {m.record_id for m in desk.state.household_of(client.ref)}
    return [t for t in dict.fromkeys(ticked) if t in household]


@router.get("/clients/{record_id}/consent/{grant}/revoke", response_class=HTMLResponse)
def confirm_revoke(request: Request, record_id: str, grant: str) -> Response:
    """Ask before revoking: what the consent covers, and what revoking does."""
    found = _grant_of_client(request, record_id, grant)
    if isinstance(found, Response):
        return found
    client, on_file = found
    return page(
        request,
        "consent_revoke.html",
        client=client,
        grant=on_file,
        signers=SIGNER_LABELS,
        classes=CLASS_LABELS,
    )


@router.post("/clients/{record_id}/consent/{grant}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request,
    record_id: str,
    grant: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=30)] = "client_request",
) -> Response:
    """Revoke the consent from now on."""
    staff = _staff_and_client(request, record_id, csrf)
    if isinstance(staff, Response):
        return staff
    found = _grant_of_client(request, record_id, grant)
    if isinstance(found, Response):
        return found
    why = reason if reason in REVOKE_REASONS else "client_request"
    done = _with_desk(
        request,
        record_id,
        lambda desk: desk.revoke(found[1].grant_id, recorded_by=staff.staff_id, reason=why),
    )
    if isinstance(done, Response):
        return done
    log.info(
        "consent revoked",
        extra={
            "event": "consent_revoked",
            "staff_id": staff.staff_id,
            "grant_id": done.grant_id,
            "ledger_index": done.ledger_index,
        },
    )
    return RedirectResponse(
        f"/clients/{record_id}?notice=revoked&grant={done.grant_id}", status_code=303
    )


def _staff_and_client(request: Request, record_id: str, csrf: str) -> StaffSession | Response:
    """The signed-in staff member, if the form is theirs and the client on their caseload."""
    session = signed_in(request)
    if session is None:
        return to_sign_in(request)
    if not node_of(request).signer.check_csrf(session.csrf, csrf):
        return form_expired(request, "Open the client's page again and repeat what you did.")
    if my_client(request, session, record_id) is None:
        return _not_on_caseload(request)
    return session


def _with_desk(
    request: Request, record_id: str, act: Callable[[ConsentDesk], Recorded]
) -> Recorded | Response:
    """Run `act` with the node's consent desk; the page to show when it cannot."""
    node = node_of(request)
    state = node.state()
    try:
        desk = _desk(request, state)
        if isinstance(desk, str):
            return _client_again(request, record_id, [desk])
        return act(desk)
    except NodeError as exc:
        return _client_again(request, record_id, [exc.advice()])
    except WitnessAlarm as alarm:
        return alarm_page(request, alarm)
    except HubCallError as exc:
        return _client_again(request, record_id, [f"{exc}. Try again in a minute."])
    finally:
        state.close()


def _form_problems(  # noqa: PLR0917  (the form's fields)
    signed: date | None,
    expires: str,
    ends: date | None,
    to: list[str] | None,
    classes: list[str] | None,
    content: bytes,
) -> list[str]:
    problems = []
    if signed is None:
        problems.append("Give the day the form was signed.")
    elif signed > datetime.now(UTC).date():
        problems.append("The signing day cannot be in the future.")
    if expires and ends is None:
        problems.append("The expiry must be a date.")
    if not to:
        problems.append("Tick at least one program the client agrees to share with.")
    if not classes:
        problems.append("Tick at least one kind of information.")
    if not content:
        problems.append("Attach the scan of the signed form (PDF or image).")
    return problems


def _not_on_caseload(request: Request) -> HTMLResponse:
    return page(
        request,
        "error.html",
        404,
        title="Not found",
        message="There is no such client or consent on your caseload.",
    )


def _grant_of_client(
    request: Request, record_id: str, grant: str
) -> tuple[dict[str, str], GrantOnFile] | Response:
    """The client and one of its consents, if the signed-in staff member may see both;
    the same "not found" for a grant of another client as for no grant at all."""
    session = signed_in(request)
    if session is None:
        return to_sign_in(request)
    client = my_client(request, session, record_id)
    consent = section(request, record_id) if client is not None else None
    match = [g for g in (consent.on_file if consent else []) if g.grant_id == grant.upper()]
    if client is None or not match:
        return _not_on_caseload(request)
    return {
        "record_id": client.record_id,
        "name": client.name,
        "date_of_birth": client.date_of_birth,
    }, match[0]


def _client_again(request: Request, record_id: str, problems: list[str]) -> Response:
    """The client page, with what was wrong with the form (nothing was recorded)."""
    from linkage_node.web.client_pages import client

    request.state.consent_problems = problems
    response = client(request, record_id)
    if response.status_code == 200:
        response.status_code = 422
    return response


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def default_dates(template: ConsentTemplate) -> dict[str, str]:
    """The form's pre-filled dates: signed today, expiring after the template's term."""
    today = datetime.now(UTC).date()
    term = timedelta(days=template.duration_days) if template.duration_days else DEFAULT_DURATION
    return {"today": today.isoformat(), "expires": (today + term).isoformat()}


NOTICES = {
    "recorded": "The consent form is recorded: {grant}.",
    "already": "This consent form was already on file: {grant}. Nothing was added.",
    "revoked": "Consent {grant} is revoked. Other programs no longer see what it covered.",
    "contacted": "Noted: you reached the other program's case manager.",
}
SIGNER_LABELS = {
    "client": "The client",
    "guardian": "A parent or guardian",
    "representative": "A legal representative",
    "court": "A court",
}
CLASS_LABELS = {
    "existence": "That this client is served here",
    "contact": "The case manager's contact details",
    "plan": "Plan milestones",
}
REVOKE_REASONS = ("client_request", "guardian_request", "entered_in_error", "court_order")
assert set(SIGNER_LABELS) == set(SIGNERS)  # noqa: S101  (the labels cover every signer)
assert set(CLASS_LABELS) == set(DATA_CLASSES)  # noqa: S101
