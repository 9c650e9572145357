"""Signing in and out of the node's pages: a local account store (argon2 hashes), the
same time for an unknown name as for a wrong password, throttling, CSRF on both forms."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from linkage_node.web.node import HASHER
from linkage_node.web.pages import form_expired, node_of, page, signed_in, to_sign_in
from linkage_node.web.session import PRESESSION_COOKIE, SESSION_COOKIE
from linkage_node.web.sign_in_guard import log_attempt

router = APIRouter()
# Verified against when a username is unknown, so both failures take the same time.
_DUMMY_HASH = HASHER.hash("not a password of anyone")


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> HTMLResponse:
    """The sign-in form, with a pre-session CSRF secret in its own cookie."""
    node = node_of(request)
    pre = request.cookies.get(PRESESSION_COOKIE)
    fresh = pre or secrets.token_urlsafe(24)
    response = page(request, "sign_in.html", form_csrf=node.signer.csrf_token(fresh), error=None)
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
            error="The node is busy. Try again in a moment.",
        )
    if not ok or account is None:
        node.throttle.failed(name, address)
        log_attempt("failure", name, address, node.log_key)
        return page(
            request, "sign_in.html", 401, form_csrf=csrf, error="Wrong username or password."
        )
    node.throttle.succeeded(name)
    log_attempt("success", name, address, node.log_key, account.staff_id)
    cookie, _ = node.signer.issue(
        account.staff_id, account.role, username=account.username, version=account.version
    )
    start = {"intake": "/intake", "supervisor": "/team"}.get(account.role, "/caseload")
    response = RedirectResponse(start, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=node.signer.lifetime,
        httponly=True,
        samesite="strict",
        secure=node.settings.cookie_secure,
    )
    response.delete_cookie(PRESESSION_COOKIE)
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the session (CSRF-checked, so no other site can sign anyone out)."""
    session = signed_in(request)
    if session is not None and not node_of(request).signer.check_csrf(session.csrf, csrf):
        return form_expired(request, "Reload the page and sign out again.")
    if session is not None:
        # Ends this account's sessions everywhere, not only this cookie.
        state = node_of(request).state()
        try:
            state.accounts.end_sessions(session.username)
        finally:
            state.close()
    response = to_sign_in()
    response.delete_cookie(SESSION_COOKIE)
    return response
