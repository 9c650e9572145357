"""The node's JSON API for the agency's own systems: `POST /api/v1/lookups`, and, keyed
by the agency's own case numbers (the node turns them into references),
`GET /api/v1/clients/{case_number}/shared`, `GET /api/v1/caseload` and
`GET /api/v1/notifications`.

An agency's case-management system asks "which other programs serve a person matching
these identifiers?" the way its intake staff do on the intake page: the node checks and
encodes the identifiers under the linkage secret, only the encoding goes to the hub, and
the hub records the question under the staff member's id.

It is authenticated by the agency's own tokens: an EdDSA token signed with this node's
agency key (`pprl keys issue-token --key-dir ... --subject in-0003 --role intake
--audience pprl-node`), for the audience `PPRL_NODE_API_AUDIENCE` (default `pprl-node`,
so a token minted for the hub is refused here and one minted here is refused by the hub),
with the `intake` role for lookups, `case_manager` (or `supervisor` for a client's
answer) for the rest. The hub is asked as the staff member the token names, so it
answers exactly what that person may see on the node's pages. A missing or bad token
gets one uniform 401; a case number the caller may not see gets the hub's uniform 404;
errors are RFC 9457 problem documents that name fields and rules, never a typed value.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from contract import LookupOut
from contract.errors import HubRefused, HubUnreachable
from keys import (
    KeyRegistry,
    LinkageSecret,
    Role,
    TokenRejected,
    TokenVerifier,
    VerifiedToken,
    issue_token,
)
from linkage_node.hub_client import hub_audience
from linkage_node.intake import Identifiers, IntakeError, look_up
from linkage_node.schema import load_schema
from linkage_node.web.pages import node_of

router = APIRouter(prefix="/api/v1", include_in_schema=False)
T = TypeVar("T")

Text = Annotated[str, Field(max_length=200)]


class IntakeLookupIn(BaseModel):
    """The identifiers as the agency's system holds them (dates as YYYY-MM-DD)."""

    model_config = ConfigDict(extra="forbid")

    given_name: Text = ""
    family_name: Text = ""
    date_of_birth: Text = ""
    sex: Text = ""
    ssn: Text = ""
    zip: Text = ""
    phone: Text = ""


class ApiProblem(Exception):
    """An RFC 9457 problem answered as JSON."""

    def __init__(self, status: int, title: str, detail: str, **headers: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers

    def response(self) -> JSONResponse:
        body = {"type": "about:blank", "title": self.title, "status": self.status}
        return JSONResponse(
            {**body, "detail": self.detail},
            status_code=self.status,
            headers=self.headers,
            media_type="application/problem+json",
        )


def intake_caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> VerifiedToken:
    """The staff member an agency token names, with the intake role; else 401 or 403."""
    caller = _caller(request, authorization)
    if Role.INTAKE.value not in caller.roles:
        raise ApiProblem(403, "Forbidden", "lookups are for staff with the intake role")
    return caller


def staff_caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> VerifiedToken:
    """A case manager or supervisor an agency token names; else 401 or 403."""
    caller = _caller(request, authorization)
    if not {Role.CASE_MANAGER.value, Role.SUPERVISOR.value} & set(caller.roles):
        raise ApiProblem(403, "Forbidden", "clients are for case managers and supervisors")
    return caller


def _caller(request: Request, authorization: str | None) -> VerifiedToken:
    node = node_of(request)
    scheme, _, token = (authorization or "").partition(" ")
    unauthorized = ApiProblem(
        401,
        "Unauthorized",
        "a bearer token signed by this agency for this node is needed",
        **{"WWW-Authenticate": 'Bearer realm="pprl-node"'},
    )
    if scheme.lower() != "bearer" or not token:
        raise unauthorized
    # A registry of this agency alone: only its own key signs tokens for its node.
    own = KeyRegistry()
    own.register(node.identity.public_keys(), node.identity.created_at)
    verifier = TokenVerifier(own, audience=node.settings.api_audience)
    try:
        return verifier.verify(token.strip())
    except TokenRejected:
        raise unauthorized from None


@router.post("/lookups")
def api_lookup(
    request: Request,
    body: IntakeLookupIn,
    caller: Annotated[VerifiedToken, Depends(intake_caller)],
) -> LookupOut:
    """Which other programs serve (or served) a person matching these identifiers."""
    node = node_of(request)
    settings = node.settings
    if settings.linkage_secret_file is None:
        raise ApiProblem(
            503,
            "Not set up",
            "this node has no linkage secret for lookups (PPRL_NODE_LINKAGE_SECRET_FILE)",
        )
    person = Identifiers(**body.model_dump())
    secret_file = settings.linkage_secret_file
    try:
        return _ask_hub(
            lambda: look_up(
                node.hub,
                node.identity,
                caller.subject,
                schema=load_schema(settings.schema_file),
                secret=LinkageSecret.load(secret_file),
                person=person,
                today=datetime.now(UTC).date(),
            )
        )
    except IntakeError as exc:
        raise ApiProblem(422, "Identifiers cannot be matched", exc.advice()) from None


Staff = Annotated[VerifiedToken, Depends(staff_caller)]


@router.get("/clients/{case_number}/shared")
def api_shared(request: Request, case_number: str, caller: Staff) -> dict[str, Any]:
    """ "Is this client shared?" by the agency's case number: the hub's answer as the
    token's staff member would see it on the client page, with the case number in place
    of the reference."""
    node = node_of(request)
    found = _client(request, case_number)
    answer = _ask_hub(lambda: node.hub.shared(found, token=lambda: _hub_token(request, caller)))
    body = answer.model_dump(mode="json", exclude={"record_ref"})
    return {"case_number": case_number, **body}


@router.get("/caseload")
def api_caseload(request: Request, caller: Staff) -> dict[str, Any]:
    """The token's case manager's caseload, each client by case number."""
    node = node_of(request)
    answer = _ask_hub(lambda: node.hub.caseload(token=lambda: _hub_token(request, caller)))
    state = node.state()
    try:
        names = state.clients_by_ref([c.record_ref for c in answer.clients])
    finally:
        state.close()
    body = answer.model_dump(mode="json", exclude={"clients"})
    body["clients"] = [
        {"case_number": names[c.record_ref].record_id, **c.model_dump(exclude={"record_ref"})}
        for c in answer.clients
        if c.record_ref in names
    ]
    return body


@router.get("/notifications")
def api_notifications(request: Request, caller: Staff) -> list[dict[str, Any]]:
    """The token's staff member's notifications, newest first (they name no client)."""
    node = node_of(request)
    found = _ask_hub(lambda: node.hub.notifications(token=lambda: _hub_token(request, caller)))
    return [n.model_dump(mode="json") for n in found]


def _client(request: Request, case_number: str) -> str:
    """The reference of a current client by case number; the uniform 404 otherwise."""
    state = node_of(request).state()
    try:
        found = state.client(case_number) if len(case_number) <= 64 else None
    finally:
        state.close()
    if found is None or found.member_only:
        raise ApiProblem(404, "Not Found", "no such client")
    return found.ref


def _hub_token(request: Request, caller: VerifiedToken) -> str:
    """A hub token for the caller's staff id and role, as the node's pages issue."""
    node = node_of(request)
    role = Role.SUPERVISOR if Role.SUPERVISOR.value in caller.roles else Role.CASE_MANAGER
    return issue_token(
        node.identity,
        subject=caller.subject,
        audience=hub_audience(),
        roles=(role,),
        lifetime=timedelta(minutes=node.settings.token_minutes),
    )


def _ask_hub(call: Callable[[], T]) -> T:
    try:
        return call()
    except HubRefused as refused:
        if refused.status == 404:
            raise ApiProblem(404, "Not Found", "no such client") from None
        if refused.status == 429:
            raise ApiProblem(
                429, "Too many questions", "wait a minute and ask again", **{"Retry-After": "60"}
            ) from None
        raise ApiProblem(502, "The hub refused", f"the hub answered {refused.status}") from None
    except HubUnreachable:
        raise ApiProblem(503, "Hub unreachable", "the hub is not answering; try again") from None


def install(app: Any) -> None:
    """The API's routes and its problem documents."""
    app.include_router(router)

    async def _problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)  # noqa: S101  (registered for it only)
        return exc.response()

    app.add_exception_handler(ApiProblem, _problem)
