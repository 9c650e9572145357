"""What every operators' page shares: the templates, and an answer that sets the
double-submit CSRF cookie and the pages' security headers."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from hub.context import HubContext

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
CSRF_COOKIE = "pprl_operator_csrf"


def hub_of(request: Request) -> HubContext:
    hub: HubContext = request.app.state.hub
    return hub


def _csrf(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def page_response(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    token = _csrf(request)
    hub = hub_of(request)
    response = TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "csrf": token,
            "sso_label": hub.settings.operator_sign_in_label if hub.operator_sign_in else None,
            **context,
        },
        status_code=status,
    )
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=hub_of(request).settings.secure_cookies,
    )
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def csrf_ok(request: Request, submitted: str) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie and submitted and hmac.compare_digest(cookie, submitted))
