"""Errors as RFC 9457 problem details (`application/problem+json`), in one place.

Domain errors from `keys` and `consent` map to statuses here; routes raise `ApiError`
subclasses for their own refusals. Validation errors never echo the submitted values
(they might be PII sent to the wrong place); unexpected errors are logged with the
request id and answered with a bare 500.

Integrity faults are the hub's, never the caller's: a ledger whose stored entries do not
replay (`LedgerTampered`), a split view a witness caught (`WitnessAlarm`), a sealed value
that no longer opens (`IntegrityFault`). They are logged at CRITICAL for the operators and
answered 503 (the ledger: the service cannot vouch for anything until it is restored) or
500, never 4xx, so no client retries a request it was told was its own mistake.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from consent import (
    CheckpointInvalid,
    ConsentError,
    EntryInvalid,
    EntryRejected,
    LedgerTampered,
    ProofInvalid,
    WitnessAlarm,
)
from hub.failures import HubError, IntegrityFault
from keys import KeysError, MalformedDocument, RegistryError, TokenRejected

log = logging.getLogger("pprl.hub")

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal error",
    503: "Not ready",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries declaring these statuses as problem documents."""
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": _TITLES[status],
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in statuses
    }


# Every API route can answer these; routes add their own (404, 409, 413) as needed.
COMMON_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 503)


class ApiError(HubError):
    """A refusal with a status and a message for the caller."""

    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ApiError):
    """Also the answer for anything the caller may not see: probing reveals nothing."""

    status = 404

    def __init__(self, detail: str = "no such resource") -> None:
        super().__init__(detail)


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class Conflict(ApiError):
    status = 409


class TooLarge(ApiError):
    status = 413


class Unprocessable(ApiError):
    status = 422


class Unavailable(ApiError):
    status = 503


class TooManyRequests(ApiError):
    """Over a rate limit; `retry_after` seconds until the next question counts."""

    status = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def problem(status: int, detail: str | None = None, request: Request | None = None) -> JSONResponse:
    """A problem+json response."""
    body = Problem(title=_TITLES.get(status, "Error"), status=status, detail=detail)
    if request is not None:
        body.instance = request.headers.get("x-request-id") or request.state.__dict__.get(
            "request_id"
        )
    headers = {"WWW-Authenticate": 'Bearer realm="pprl-hub"'} if status == 401 else None
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


# Which domain error is which answer (the first that matches; otherwise 400).
_DOMAIN_STATUSES: tuple[tuple[tuple[type[Exception], ...], int], ...] = (
    ((TokenRejected,), 401),  # hub.auth answers these itself; kept for completeness
    ((EntryInvalid, MalformedDocument, ProofInvalid, CheckpointInvalid), 422),
    ((EntryRejected, RegistryError), 409),
    # The hub's own ledger is damaged: nothing the caller can fix.
    ((LedgerTampered, WitnessAlarm), 503),
    ((IntegrityFault,), 500),
)


def _domain_status(exc: Exception) -> int:
    return next((status for kinds, status in _DOMAIN_STATUSES if isinstance(exc, kinds)), 400)


def _integrity_fault(request: Request, exc: Exception, status: int) -> JSONResponse:
    """Log the fault for the operators; tell the caller only that it is the hub's."""
    log.critical(
        "integrity fault: %s: %s",
        type(exc).__name__,
        exc,
        extra={"request_id": getattr(request.state, "request_id", None)},
    )
    detail = (
        "the hub's consent ledger failed its integrity check; operators have been alerted"
        if status == 503
        else None
    )
    return problem(status, detail, request)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed(request: Request) -> list[str]:
    """Every method some route answers at this path (asked of the routes themselves, so
    routers included in routers count too)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.routes):
            allowed.append(method)
    return allowed


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        response = problem(exc.status, exc.detail, request)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(KeysError)
    @app.exception_handler(ConsentError)
    @app.exception_handler(HubError)
    async def _domain(request: Request, exc: Exception) -> JSONResponse:
        status = _domain_status(exc)
        if status >= 500:
            return _integrity_fault(request, exc, status)
        if isinstance(exc, HubError):
            # A hub refusal no route turned into an answer: the server's fault.
            return await _unexpected(request, exc)
        return problem(status, str(exc), request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem(422, f"{where}: {first.get('msg', 'invalid')}", request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(exc.status_code, str(exc.detail) if exc.detail else None, request)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; every method
            # any route at this path answers is allowed (RFC 9110 section 15.5.6).
            response.headers["Allow"] = ", ".join(_allowed(request))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unexpected error",
            exc_info=exc,
            extra={"request_id": getattr(request.state, "request_id", None)},
        )
        return problem(500, None, request)
