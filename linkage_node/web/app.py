"""The case managers' pages, served by the agency node (`pprl node serve`).

The node knows its clients' names and case numbers; the hub does not. A case manager
signs in here (a local account store with argon2 hashes), opens their caseload and a
client, and the node asks the hub about that client's pseudonymous reference with a
short-lived token it issues for the signed-in case manager. The hub never learns which
name was looked up. Server-rendered, no JavaScript needed, every form CSRF-protected.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from contract.client import HubClient
from keys import AgencyIdentity
from keys.files import too_open
from linkage_node.consent_terms import ConsentTemplate
from linkage_node.errors import StateError
from linkage_node.hub_client import agency_token
from linkage_node.transport import checked_hub_url
from linkage_node.web import (
    api,
    caseload_pages,
    client_pages,
    consent_pages,
    intake_pages,
    notification_pages,
    ops,
    sign_in_pages,
    sso_pages,
    team_pages,
)
from linkage_node.web.app_roles import NODE_ROLES
from linkage_node.web.failures import install_error_pages
from linkage_node.web.node import HERE, Node, NodeWebSettings
from linkage_node.web.pages import page
from linkage_node.web.session import SessionSigner, load_or_create_key
from linkage_node.witness import NodeWitness
from sso import OpenIdProvider, RelyingParty, RoleMap

router = APIRouter()


def create_node_app(
    settings: NodeWebSettings,
    *,
    identity: AgencyIdentity | None = None,
    hub_client: httpx.Client | None = None,
    passphrase: str | None = None,
) -> FastAPI:
    """Build the node's pages. `hub_client` (tests) replaces the HTTP client to the hub."""
    key_dir = settings.key_dir or Path("pprl-keys") / settings.agency
    session_key = settings.session_key_file or settings.state_path.parent / "session.key"
    agency = identity or AgencyIdentity.load(key_dir, passphrase=passphrase)
    node = Node(
        settings=settings,
        identity=agency,
        signer=SessionSigner(load_or_create_key(session_key)),
        hub=HubClient(
            str(hub_client.base_url) if hub_client else checked_hub_url(settings.hub_url),
            agency_token(agency, lifetime=timedelta(minutes=5)),
            timeout=10,
            http=hub_client,
        ),
        witness=NodeWitness.open(settings.state_path.parent, agency, settings.log_public_key_file),
        consent_template=ConsentTemplate.load(settings.consent_form_file),
    )
    node.sso, node.role_map = _single_sign_on(settings)
    app = FastAPI(
        title=f"pprl node {settings.agency}", docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.node = node
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.middleware("http")(_security_headers)

    app.include_router(router)
    for pages in (
        sign_in_pages,
        sso_pages,
        caseload_pages,
        team_pages,
        client_pages,
        consent_pages,
        intake_pages,
        notification_pages,
    ):
        app.include_router(pages.router)
    app.include_router(ops.router)
    api.install(app)
    install_error_pages(app, page)
    return app


def _single_sign_on(settings: NodeWebSettings) -> tuple[RelyingParty | None, RoleMap | None]:
    """The state's provider, when the settings name it (all of issuer, client id, secret
    file and public URL, or none)."""
    issuer, client_id, public_url = (
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.public_url,
    )
    if not (issuer or client_id or public_url or settings.oidc_client_secret_file):
        return None, None
    if not (issuer and client_id and public_url and settings.oidc_client_secret_file):
        raise StateError(
            "the state's sign-in is half configured",
            "Set PPRL_NODE_OIDC_ISSUER, PPRL_NODE_OIDC_CLIENT_ID, "
            "PPRL_NODE_OIDC_CLIENT_SECRET_FILE and PPRL_NODE_PUBLIC_URL together.",
        )
    secret = _token(settings.oidc_client_secret_file)
    try:
        roles = RoleMap.parse(
            settings.oidc_roles,
            role_claim=settings.oidc_role_claim,
            staff_id_claim=settings.oidc_staff_id_claim,
        )
        provider = OpenIdProvider(issuer)
    except ValueError as exc:
        raise StateError(f"PPRL_NODE_OIDC_*: {exc}", "Fix the setting and start again.") from None
    unknown = sorted(set(roles.roles) - set(NODE_ROLES))
    if unknown:
        raise StateError(
            f"PPRL_NODE_OIDC_ROLES names {', '.join(unknown)}, not a role of these pages",
            f"Use {', '.join(NODE_ROLES)}.",
        )
    relying_party = RelyingParty(
        provider,
        client_id=client_id,
        client_secret=(secret or b"").decode(),
        redirect_uri=public_url.rstrip("/") + "/sign-in/callback",
        scope=settings.oidc_scope,
    )
    return relying_party, roles


def _token(path: Path | None) -> bytes | None:
    """A scraper's token from an owner-only file."""
    if path is None:
        return None
    if too_open(path):
        raise StateError(f"{path} is readable by other users", f"Run `chmod 600 {path}`.")
    return path.read_bytes().strip()


async def _security_headers(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The caseload is the start page."""
    return RedirectResponse("/caseload", status_code=303)
