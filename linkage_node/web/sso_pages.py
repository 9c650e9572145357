"""Signing in with the state's OpenID provider (authorization code with PKCE), when the
node is configured for it; local accounts stay as the fallback on the same page.

The pending sign-in rides in a SameSite=Lax cookie (the provider's redirect back is a
cross-site navigation, which would not carry a Strict one). The callback answers with a
page that moves on by itself (a meta refresh, no script), so the first page after
sign-in is a same-site navigation that carries the Strict session cookie.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from linkage_node.web.app_roles import NODE_ROLES, start_page
from linkage_node.web.pages import keep_cookie, node_of, page
from linkage_node.web.session import SESSION_COOKIE
from sso import NoRoleHere, PendingSignIn, SsoError, safe_next

router = APIRouter()
log = logging.getLogger("pprl.node.sign_in")
PENDING_COOKIE = "pprl_sso_pending"
HINT_COOKIE = "pprl_sso_hint"  # the ID token, kept only to end the provider's session


def _failed(request: Request, status: int, error: SsoError) -> HTMLResponse:
    log.info("single sign-on refused: %s", error.message)
    return page(request, "sign_in.html", status, form_csrf="", error=str(error), next_path="")


@router.get("/sign-in/sso")
def begin(request: Request, next: str = "") -> Response:
    """Off to the state's provider, remembering where to come back to."""
    node = node_of(request)
    if node.sso is None:
        return RedirectResponse("/sign-in", status_code=303)
    try:
        url, pending = node.sso.begin(safe_next(next, ""))
    except SsoError as exc:
        return _failed(request, 502, exc)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        pending.pack(node.signer.subkey(PENDING_COOKIE)),
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=node.settings.cookie_secure,
        path="/sign-in",
    )
    return response


@router.get("/sign-in/callback")
def callback(request: Request) -> Response:
    """The provider's answer: check it, map the person to a staff id and a role here,
    and start a session."""
    node = node_of(request)
    if node.sso is None or node.role_map is None:
        return RedirectResponse("/sign-in", status_code=303)
    pending = PendingSignIn.unpack(
        node.signer.subkey(PENDING_COOKIE), request.cookies.get(PENDING_COOKIE)
    )
    params = {k: v[:2000] for k, v in request.query_params.items()}
    try:
        signed = node.sso.complete(pending, params)
        staff_id = node.role_map.staff_id(signed.claims)
        role = node.role_map.first_role(signed.claims, NODE_ROLES, "these pages")
    except NoRoleHere as exc:
        response = _failed(request, 403, exc)
    except SsoError as exc:
        response = _failed(request, 400, exc)
    else:
        cookie, _ = node.signer.issue(staff_id, role, username="", version=0, via="sso")
        target = safe_next(pending.next_path if pending else "", start_page(role))
        response = page(request, "moving_on.html", staff=None, target=target)
        keep_cookie(response, request, SESSION_COOKIE, cookie)
        keep_cookie(response, request, HINT_COOKIE, signed.id_token, path="/sign-out")
        log.info("signed in with the state's provider as %s (%s)", staff_id, role)
    response.delete_cookie(PENDING_COOKIE, path="/sign-in")
    return response
