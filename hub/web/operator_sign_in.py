"""Signing in to the operators' pages and out of them.

Operators and auditors sign in with their identity provider (authorization code with
PKCE) when PPRL_OPERATOR_CLIENT_ID and PPRL_PUBLIC_URL are set. Pasting an access token
stays as the fallback (and is how agency executives sign in): it is checked as the API
would and kept in an HttpOnly, SameSite=Strict cookie, and every page checks it again.
The forms that change state (sign-in, sign-out) carry a double-submit CSRF token.

The page session is `base64url(json) . HMAC-SHA256` under a key derived from the hub's
data key (`hub.operator_idp.page_session_key`): who, with which roles, until when. The
pending sign-in rides in a SameSite=Lax cookie (the provider's redirect back is a
cross-site navigation); the callback answers with a page that moves on by itself, so the
first page after sign-in carries the Strict session cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.auth import authenticate
from hub.context import HubContext
from hub.deps import HubDep, SessionDep
from hub.errors import ApiError
from hub.operator_idp import OPERATOR_ROLES
from hub.web.rendering import csrf_ok, hub_of, page_response
from keys import Role
from sso import NoRoleHere, PendingSignIn, SsoError, safe_next
from sso.signed_values import sign, unsign

TOKEN_COOKIE = "pprl_operator"  # noqa: S105  (a cookie name)
SESSION_COOKIE = "pprl_operator_session"
READERS = (Role.HUB_OPERATOR, Role.AUDITOR, Role.EXECUTIVE)
PENDING_COOKIE = "pprl_operator_sso"
HINT_COOKIE = "pprl_operator_hint"
SESSION_SECONDS = 8 * 3600
KEEP_SECONDS = SESSION_SECONDS + 12 * 3600  # so an ended session can be said to have ended

router = APIRouter(prefix="/operator", include_in_schema=False)
log = logging.getLogger("pprl.hub.operator_sign_in")


@dataclass(frozen=True)
class PageSession:
    subject: str
    roles: frozenset[Role]
    expires: int


def issue(key: bytes, subject: str, roles: list[str]) -> str:
    expires = int(time.time()) + SESSION_SECONDS
    return sign(key, "session", {"s": subject, "r": roles, "e": expires})


def read(key: bytes, cookie: str | None) -> PageSession | None:
    """The session a cookie carries (expired or not), or None when missing or forged."""
    data = unsign(key, "session", cookie)
    try:
        return PageSession(str(data["s"]), frozenset(Role(r) for r in data["r"]), int(data["e"]))
    except (ValueError, KeyError, TypeError):  # None, or not a session
        return None


def _keep(response: Response, request: Request, name: str, value: str, path: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=KEEP_SECONDS,
        httponly=True,
        samesite="strict",
        secure=hub_of(request).settings.secure_cookies,
        path=path,
    )


@router.get("/sign-in/sso")
def begin(request: Request, next: str = "") -> Response:
    """Off to the operators' provider, remembering the page to come back to."""
    hub = hub_of(request)
    if hub.operator_sign_in is None:
        return RedirectResponse("/operator/sign-in", status_code=303)
    try:
        url, pending = hub.operator_sign_in.begin(safe_next(next, ""))
    except SsoError as exc:
        return page_response(request, "sign_in.html", 502, error=str(exc))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        pending.pack(_subkey(hub)),
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=hub.settings.secure_cookies,
        path="/operator/sign-in",
    )
    return response


def _subkey(hub: HubContext) -> bytes:
    return hmac.new(hub.page_session_key, b"pending sign-in", hashlib.sha256).digest()


@router.get("/sign-in/callback", response_class=HTMLResponse)
def callback(request: Request) -> Response:
    """The provider's answer: checked, mapped to a hub role, a page session started."""
    hub = hub_of(request)
    if hub.operator_sign_in is None or hub.operator_roles is None:
        return RedirectResponse("/operator/sign-in", status_code=303)
    pending = PendingSignIn.unpack(_subkey(hub), request.cookies.get(PENDING_COOKIE))
    params = {k: v[:2000] for k, v in request.query_params.items()}
    try:
        signed = hub.operator_sign_in.complete(pending, params)
        subject = hub.operator_roles.staff_id(signed.claims)
        roles = hub.operator_roles.granted(signed.claims, OPERATOR_ROLES)
        if not roles:
            hub.operator_roles.first_role(signed.claims, OPERATOR_ROLES, "the hub's pages")
    except NoRoleHere as exc:
        log.info("operator sign-in refused: %s", exc.message)
        response: Response = page_response(request, "sign_in.html", 403, error=str(exc))
    except SsoError as exc:
        log.info("operator sign-in refused: %s", exc.message)
        response = page_response(request, "sign_in.html", 400, error=str(exc))
    else:
        target = safe_next(pending.next_path if pending else "", "/operator")
        response = page_response(request, "moving_on.html", target=target)
        _keep(response, request, SESSION_COOKIE, issue(hub.page_session_key, subject, roles), "/")
        _keep(response, request, HINT_COOKIE, signed.id_token, "/operator/sign-out")
        log.info("operator %s signed in (%s)", subject, ", ".join(roles))
    response.delete_cookie(PENDING_COOKIE, path="/operator/sign-in")
    return response


def sign_out_url(request: Request) -> str | None:
    """Where sign-out goes next: the provider's end-session endpoint for a session that
    started there (or the next "Sign in" would sign the same person straight back in)."""
    hub = hub_of(request)
    if hub.operator_sign_in is None or hub.settings.public_url is None:
        return None
    if read(hub.page_session_key, request.cookies.get(SESSION_COOKIE)) is None:
        return None
    after = hub.settings.public_url.rstrip("/") + "/operator/sign-in?signed_out=1"
    return hub.operator_sign_in.sign_out_url(request.cookies.get(HINT_COOKIE), after)


def _sign_in() -> RedirectResponse:
    return RedirectResponse("/operator/sign-in", status_code=303)


def _ended_notice(request: Request, hub: HubContext) -> str | None:
    """Why someone is back at the sign-in page, in plain words."""
    ended = read(hub.page_session_key, request.cookies.get(SESSION_COOKIE))
    if ended is not None and ended.expires <= time.time():
        return (
            "Your session expired (sessions last 8 hours). Sign in again to go back to "
            "the page you were on."
        )
    if request.cookies.get(TOKEN_COOKIE):
        return (
            "Your access token has expired or was not accepted. Get a new one and sign in "
            "again to go back to the page you were on."
        )
    if request.query_params.get("signed_out"):
        return "You are signed out."
    return None


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str = "") -> HTMLResponse:
    """Sign in with the operators' provider, or paste an operator or auditor token."""
    return page_response(
        request,
        "sign_in.html",
        error=None,
        notice=_ended_notice(request, hub_of(request)),
        next_path=safe_next(next, ""),
    )


@router.post("/sign-in")
def sign_in(
    request: Request,
    *,
    hub: HubDep,
    session: SessionDep,
    token: Annotated[str, Form(max_length=8000)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Check the token as the API would, then keep it in a cookie until it expires."""
    if not csrf_ok(request, csrf):
        return page_response(
            request, "error.html", 400, title="Form expired", message="Open the sign-in page again."
        )
    try:
        principal = authenticate(hub, session, f"Bearer {token.strip()}")
    except ApiError as exc:
        return page_response(request, "sign_in.html", 401, error=f"Not signed in: {exc.detail}")
    if not principal.has(*READERS):
        return page_response(
            request,
            "sign_in.html",
            403,
            error="These pages are for hub operators, auditors and agency executives.",
        )
    start = "/operator" if principal.has(Role.HUB_OPERATOR, Role.AUDITOR) else "/operator/dashboard"
    response = RedirectResponse(safe_next(next, start), status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=hub.settings.secure_cookies,
        max_age=3600,
    )
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Forget the token."""
    if not csrf_ok(request, csrf):
        return page_response(
            request,
            "error.html",
            400,
            title="Form expired",
            message="Reload the page and sign out again.",
        )
    provider_sign_out = sign_out_url(request)
    response: Response = _sign_in()
    if provider_sign_out:
        # A page that moves on, not a redirect: the pages' CSP (form-action 'self')
        # keeps a form's answer from redirecting to another site.
        response = page_response(
            request,
            "moving_on.html",
            target=provider_sign_out,
            heading="Signed out here",
            explanation="Now signing you out of your organisation's sign-in too.",
        )
    response.delete_cookie(TOKEN_COOKIE)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(HINT_COOKIE, path="/operator/sign-out")
    return response
