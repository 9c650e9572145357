"""The intake page: an intake worker types who is in front of them and learns which other
programs serve a matching person (existence only), before that person is on any roster.
The identifiers are encoded on this node; only the encoding goes to the hub; a problem
names the field, never what was typed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from contract.errors import HubRefused
from keys import LinkageSecret
from linkage_node.intake import Identifiers, IntakeError, look_up
from linkage_node.schema import load_schema
from linkage_node.web.pages import node_of, page, signed_in, to_sign_in

router = APIRouter()

# Every field may arrive empty: the roster rules, not the form parser, say what is missing.
Field = Annotated[str, Form(max_length=200)]


def _refused(request: Request) -> Response | None:
    session = signed_in(request)
    if session is None:
        return to_sign_in(request)
    if session.role != "intake":
        return page(
            request,
            "error.html",
            403,
            title="Intake staff only",
            message="Looking people up before intake is for intake staff. Your data steward "
            "can give your account the intake role.",
        )
    if node_of(request).settings.linkage_secret_file is None:
        return page(
            request,
            "intake.html",
            503,
            unavailable="Intake lookups are not set up on this node: ask your data steward "
            "to give it the linkage secret (PPRL_NODE_LINKAGE_SECRET_FILE).",
            typed={},
        )
    return None


@router.get("/intake", response_class=HTMLResponse)
def intake_form(request: Request) -> Response:
    """The search form."""
    return _refused(request) or page(request, "intake.html", typed={})


@router.post("/intake", response_class=HTMLResponse)
def intake_lookup(
    request: Request,
    *,
    given: Field = "",
    family: Field = "",
    dob: Field = "",
    csrf: Field = "",
    ssn: Field = "",
    zip_code: Field = "",
    phone: Field = "",
) -> Response:
    """Ask the hub who serves a person matching what was typed."""
    refused = _refused(request)
    if refused is not None:
        return refused
    node = node_of(request)
    session = signed_in(request)
    assert session is not None  # noqa: S101  (checked by _refused)
    typed = {"given": given, "family": family, "dob": dob, "ssn": ssn, "zip": zip_code}
    typed["phone"] = phone
    if not node.signer.check_csrf(session.csrf, csrf):
        return page(
            request, "intake.html", 400, typed=typed, problem="The form expired: ask again."
        )
    settings = node.settings
    assert settings.linkage_secret_file is not None  # noqa: S101  (checked by _refused)
    person = Identifiers(given, family, dob, ssn=ssn, zip=zip_code, phone=phone)
    try:
        answer = look_up(
            node.hub,
            node.identity,
            session.staff_id,
            schema=load_schema(settings.schema_file),
            secret=LinkageSecret.load(settings.linkage_secret_file),
            person=person,
            today=datetime.now(UTC).date(),
            token=lambda: node.token_for(session),
        )
    except IntakeError as exc:
        return page(request, "intake.html", 422, typed=typed, problem=exc.advice())
    except HubRefused as refused_by_hub:
        problem = (
            "You have asked many times in a short while: wait a minute and ask again."
            if refused_by_hub.status == 429
            else f"The hub refused the lookup ({refused_by_hub.status}): tell your data steward."
        )
        return page(request, "intake.html", 502, typed=typed, problem=problem)
    return page(request, "intake.html", typed=typed, answer=answer)
