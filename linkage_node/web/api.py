"""The node's JSON API for the agency's own systems: `POST /api/v1/lookups`.

An agency's case-management system asks "which other programs serve a person matching
these identifiers?" the way its intake staff do on the intake page: the node checks and
encodes the identifiers under the linkage secret, only the encoding goes to the hub, and
the hub records the question under the staff member's id.

It is authenticated by the agency's own tokens: an EdDSA token signed with this node's
agency key (`pprl keys issue-token --key-dir ... --subject in-0003 --role intake
--audience pprl-node`), for the audience `PPRL_NODE_API_AUDIENCE` (default `pprl-node`,
so a token minted for the hub is refused here and one minted here is refused by the hub),
with the `intake` role. A missing or bad token gets one uniform 401; errors are RFC 9457
problem documents that name fields and rules, never a typed value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

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
)
from linkage_node.intake import Identifiers, IntakeError, look_up
from linkage_node.schema import load_schema
from linkage_node.web.pages import node_of

router = APIRouter(prefix="/api/v1", include_in_schema=False)

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
        caller = verifier.verify(token.strip())
    except TokenRejected:
        raise unauthorized from None
    if Role.INTAKE.value not in caller.roles:
        raise ApiProblem(403, "Forbidden", "lookups are for staff with the intake role")
    return caller


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
    try:
        return look_up(
            node.hub,
            node.identity,
            caller.subject,
            schema=load_schema(settings.schema_file),
            secret=LinkageSecret.load(settings.linkage_secret_file),
            person=person,
            today=datetime.now(UTC).date(),
        )
    except IntakeError as exc:
        raise ApiProblem(422, "Identifiers cannot be matched", exc.advice()) from None
    except HubRefused as refused:
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
