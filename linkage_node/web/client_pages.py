"""One client: the hub's answer about them, checked against the ledger this node
witnessed, and the offline proof of each grant it relied on."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consent import WitnessAlarm, bundle_proof
from contract import SharedOut
from contract.errors import HubCallError, HubRefused
from contract.milestones import STUCK_REASONS
from keys import canonical
from linkage_node.answer_check import AnswerCheck
from linkage_node.consent_desk import is_minor
from linkage_node.consent_terms import canonical_grant_id
from linkage_node.state_rows import DirectoryEntry
from linkage_node.web import answer_view, family_view, plan_view
from linkage_node.web.pages import (
    alarm_page,
    form_expired,
    hub_trouble,
    hub_unanswered,
    my_client,
    node_of,
    not_found,
    page,
    signed_in,
    to_sign_in,
)
from linkage_node.web.session import StaffSession

router = APIRouter()


def _shared(request: Request, record_id: str) -> tuple[DirectoryEntry, SharedOut] | Response:
    """The signed-in case manager's client `record_id` (from the node's directory) and
    the hub's answer about it, or the page to show instead."""
    session = signed_in(request)
    if session is None:
        return to_sign_in(request)
    found = my_client(request, session, record_id)
    if found is None:
        return not_found(request)
    node = node_of(request)
    try:
        answer = node.hub.shared(found.ref, token=lambda: node.token_for(session))
    except HubRefused as refused:
        if refused.status == 404:
            return not_found(request)
        return hub_trouble(request, refused.status)
    return found, answer


def _checked(request: Request, body: SharedOut) -> AnswerCheck | Response:
    """What this node proved about the grants an answer relies on, or the page to show
    instead (an alarm, or the hub unreachable)."""
    node = node_of(request)
    if node.witness is None:
        return AnswerCheck(None, ("this node has no hub log key configured",))
    try:
        return node.witness.check_answer(node.ledger, body, node.identity.programs)
    except WitnessAlarm as alarm:
        return alarm_page(request, alarm)
    except HubCallError as exc:
        return hub_unanswered(request, exc)


@router.get("/clients/{record_id}", response_class=HTMLResponse)
def client(request: Request, record_id: str) -> Response:
    """One client: the hub's answer about their reference, with names from the node, and
    the consents this agency has on file for them."""
    from linkage_node.web import consent_pages

    shared = _shared(request, record_id)
    if isinstance(shared, Response):
        return shared
    found, body = shared
    rid, name, dob = found.record_id, found.name, found.date_of_birth
    session = signed_in(request)
    assert session is not None  # noqa: S101  (_shared signed them in)
    today = date.today()  # noqa: DTZ011  (ages are local calendar dates)
    family = family_view.family_section(request, session, found, today=today)
    check = _checked(request, body)
    if isinstance(check, Response):
        return check
    conflicted = {(m.program, m.milestone_id) for c in body.conflicts for m in c.milestones}
    consent = consent_pages.section(request, rid)
    grant = request.query_params.get("grant", "").upper()
    notice = consent_pages.NOTICES.get(request.query_params.get("notice", ""))
    return page(
        request,
        "client.html",
        client={"record_id": rid, "name": name, "date_of_birth": dob},
        answer=body,
        verified=check.verified,
        problems=check.problems,
        conflicted=conflicted,
        consent=consent,
        consent_problems=getattr(request.state, "consent_problems", []),
        notice=notice.format(grant=grant)
        if notice and ("{grant}" not in notice or canonical_grant_id(grant))
        else None,
        dates=consent_pages.default_dates(consent.template),
        signers=consent_pages.SIGNER_LABELS,
        classes=consent_pages.CLASS_LABELS,
        cards=answer_view.cards(body),
        needs=answer_view.NEEDS,
        timeline=plan_view.timeline(body),
        stuck_reasons=STUCK_REASONS,
        family=family,
        client_is_minor=is_minor(dob, today),
        agency_programs=node_of(request).identity.programs,
    )


@router.get("/clients/{record_id}/proof/{grant_index}", response_class=HTMLResponse)
def proof(request: Request, record_id: str, grant_index: int, download: bool = False) -> Response:
    """The checkpoint and inclusion proof of a grant an answer relied on, as a page, or
    (`?download=1`) as the bundle `pprl consent check-proof --input` checks offline."""
    shared = _shared(request, record_id)
    if isinstance(shared, Response):
        return shared
    _, body = shared
    for program in body.programs:
        for grant in (program.existence.grant, program.contact.grant, program.plan.grant):
            if grant and grant.index == grant_index and body.checkpoint:
                check = _checked(request, body)
                if isinstance(check, Response):
                    return check
                bundle = bundle_proof(
                    grant_index,
                    canonical.b64decode(grant.leaf),
                    body.checkpoint,
                    [bytes.fromhex(h) for h in grant.inclusion_proof],
                )
                if download:
                    name = f"consent-proof-{grant_index}.json"
                    return Response(
                        bundle,
                        media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'},
                    )
                document = json.dumps(json.loads(bundle), indent=2)
                return page(
                    request,
                    "proof.html",
                    record_id=record_id,
                    grant=grant,
                    document=document,
                    verified=check.verified,
                    problems=check.problems,
                )
    return not_found(request)


@router.post("/clients/{record_id}/contacted")
def contacted(
    request: Request,
    record_id: str,
    program: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The signed-in staff member reached `program`'s case manager about this client:
    the hub keeps the first time (the dashboard's days from match to first contact)."""
    session = signed_in(request)
    if session is None:
        return to_sign_in(request)
    node = node_of(request)
    if not node.signer.check_csrf(session.csrf, csrf):
        return form_expired(request, "Open the client's page again and repeat what you did.")
    found = my_client(request, session, record_id)
    if found is None:
        return not_found(request)
    refused = _tell_first_contact(request, session, found.ref, program)
    return refused or RedirectResponse(f"/clients/{record_id}?notice=contacted", status_code=303)


def _tell_first_contact(
    request: Request, session: StaffSession, ref: str, program: str
) -> Response | None:
    """Tell the hub; the page to show instead when it would not hear it."""
    node = node_of(request)
    try:
        node.hub.first_contact(ref, program, token=lambda: node.token_for(session))
    except HubRefused as refused:
        if refused.status in (404, 422):
            return not_found(request)
        return hub_trouble(request, refused.status)
    except HubCallError as exc:
        return hub_unanswered(request, exc)
    return None
