"""Signing in and out of the node's pages: a local account store (argon2 hashes), the
same time for an unknown name as for a wrong password, throttling, CSRF on both forms."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from linkage_node.web.app_roles import start_page
from linkage_node.web.node import HASHER
from linkage_node.web.pages import (
    form_expired,
    keep_cookie,
    node_of,
    page,
    signed_in,
    to_sign_in,
)
from linkage_node.web.session import PRESESSION_COOKIE, SESSION_COOKIE
from linkage_node.web.sign_in_guard import log_attempt
from linkage_node.web.sso_pages import HINT_COOKIE
from sso import safe_next

router = APIRouter()
# Verified against when a username is unknown, so both failures take the same time.
_DUMMY_HASH = HASHER.hash("not a password of anyone")


def _ended_notice(request: Request) -> str | None:
    """Why someone is back at the sign-in page, in plain words."""
    node = node_of(request)
    if node.signer.expired(request.cookies.get(SESSION_COOKIE)):
        hours = round(node.signer.lifetime / 3600)
        return (
            f"Your session expired (sessions last {hours} hours). Sign in again to go "
            "back to the page you were on."
        )
    if request.query_params.get("signed_out"):
        return "You are signed out."
    return None


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str = "") -> HTMLResponse:
    """The sign-in form, with a pre-session CSRF secret in its own cookie."""
    node = node_of(request)
    pre = request.cookies.get(PRESESSION_COOKIE)
    fresh = pre or secrets.token_urlsafe(24)
    response = page(
        request,
        "sign_in.html",
        form_csrf=node.signer.csrf_token(fresh),
        error=None,
        notice=_ended_notice(request),
        next_path=safe_next(next, ""),
    )
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
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Check the password against the node's account store; the same answer for an
    unknown user and a wrong password, in the same time."""
    node = node_of(request)
    if not node.signer.check_csrf(request.cookies.get(PRESESSION_COOKIE), csrf):
        return form_expired(request, "The sign-in form expired. Open the sign-in page again.")
    name = username.strip()
    address = request.client.host if request.client else "-"
    wait = node.throttle.wait(name, address)
    if wait > 0:
        log_attempt("throttled", name, address, node.log_key)
        throttled = page(
            request,
            "sign_in.html",
            429,
            form_csrf=csrf,
            next_path=safe_next(next, ""),
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
            HASHER.verify(account.password_hash if account else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return False
        return account is not None and not account.disabled

    ok = node.hashing.run(check)
    if ok is None:
        log_attempt("busy", name, address, node.log_key)
        return page(
            request,
            "sign_in.html",
            503,
            form_csrf=csrf,
            next_path=safe_next(next, ""),
            error="The node is busy. Try again in a moment.",
        )
    if not ok or account is None:
        node.throttle.failed(name, address)
        log_attempt("failure", name, address, node.log_key)
        return page(
            request,
            "sign_in.html",
            401,
            form_csrf=csrf,
            next_path=safe_next(next, ""),
            error="Wrong username or password.",
        )
    node.throttle.succeeded(name)
    log_attempt("success", name, address, node.log_key, account.staff_id)
    cookie, _ = node.signer.issue(
        account.staff_id, account.role, username=account.username, version=account.version
    )
    response = RedirectResponse(safe_next(next, start_page(account.role)), status_code=303)
    keep_cookie(response, request, SESSION_COOKIE, cookie)
    response.delete_cookie(PRESESSION_COOKIE)
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the session (CSRF-checked, so no other site can sign anyone out)."""
    session = signed_in(request)
    if session is not None and not node_of(request).signer.check_csrf(session.csrf, csrf):
        return form_expired(request, "Reload the page and sign out again.")
    node = node_of(request)
    if session is not None and session.via == "local":
        # Ends this account's sessions everywhere, not only this cookie.
        state = node.state()
        try:
            state.accounts.end_sessions(session.username)
        finally:
            state.close()
    response: Response = to_sign_in()
    if session is not None and session.via == "sso" and node.sso and node.settings.public_url:
        # Also end the session at the state's provider (RP-initiated logout), or the
        # next "Sign in" would sign the same person straight back in.
        after = node.settings.public_url.rstrip("/") + "/sign-in?signed_out=1"
        url = node.sso.sign_out_url(request.cookies.get(HINT_COOKIE), after)
        if url:
            # A page that moves on, not a redirect: the pages' CSP (form-action 'self')
            # keeps a form's answer from redirecting to another site.
            response = page(
                request,
                "moving_on.html",
                staff=None,
                target=url,
                heading="Signed out here",
                explanation="Now signing you out of the state's sign-in too.",
            )
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(HINT_COOKIE, path="/sign-out")
    return response
