"""What the node's pages show when something fails: a page a person can act on, never a
bare status or JSON in a browser, and never the details of the fault (logged, without
PII, with the request path only).

The hub being unreachable is the common case: the caseload is local data and is still
shown (with "served by another program?" marked unavailable); pages that need the hub's
answer say so and point back to the caseload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException

from contract.errors import HubCallError

log = logging.getLogger("pprl.node.pages")

Render = Callable[..., HTMLResponse]

_TITLES = {
    400: "That request could not be read",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "That action is not available here",
    413: "That was too large",
    429: "Too many attempts",
}


def install_error_pages(app: FastAPI, render: Render) -> None:
    """Answer failures with the node's own pages (`render(request, template, status,
    **context)`)."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, exc.status_code)
        title = _TITLES.get(exc.status_code, "Something went wrong")
        message = (
            "There is no page at this address. Check the link, or start again from your caseload."
            if exc.status_code == 404
            else "Go back and try again; if it keeps happening, tell your data steward."
        )
        return render(request, "error.html", exc.status_code, title=title, message=message)

    @app.exception_handler(HubCallError)
    async def hub_unreachable(request: Request, exc: HubCallError) -> Response:
        log.warning("hub unreachable", extra={"path": request.url.path})
        return render(
            request,
            "error.html",
            503,
            title="The hub can't be reached",
            message="This page needs the hub's answer and the hub is not answering. Your "
            "caseload still lists your clients. Try again in a few minutes; if it lasts, "
            "tell your data steward.",
        )

    async def unexpected(request: Request, exc: Exception) -> Response:
        # The fault's text may hold data from a page: log its type and where only.
        log.error("page failed", extra={"path": request.url.path, "error": type(exc).__name__})
        return render(
            request,
            "error.html",
            500,
            staff=None,
            title="Something went wrong",
            message="The node could not show this page. Try again; if it keeps happening, "
            "tell your data steward (the node's log says what failed).",
        )

    app.add_exception_handler(Exception, unexpected)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept
