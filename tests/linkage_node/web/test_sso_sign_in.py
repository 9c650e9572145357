"""Staff sign in to the node's pages with the state's OpenID provider: a real provider
(`oidc-provider` on Node.js, tests/openid_provider.py), the node's own relying party.
Sign-in with PKCE and a return to the page asked for, role and staff-id mapping, a key
rotation at the provider, sign-out there too, and an expired session said plainly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.hub.api.factories import Api
from tests.linkage_node.web.conftest import SSO_SECRET, Node, make_sso_node
from tests.openid_provider import (
    OpenIdProvider,
    asks_to_sign_in,
    confirm_sign_out,
    moved_on_to,
    running,
    sign_in_at_provider,
    web_client,
)

pytestmark = pytest.mark.live

NODE = "https://node.test"
ACCOUNTS = {
    "maria.lopez": {
        "name": "Maria Lopez",
        "employee_id": "cm-0001",
        "groups": ["dcfs-case-managers"],
    },
    "jin.kim": {
        "name": "Jin Kim",
        "employee_id": "sup-0001",
        "groups": ["dcfs-case-managers", "dcfs-supervisors"],
    },
    "pat.planner": {"name": "Pat", "employee_id": "dot-77", "groups": ["dot-planners"]},
    "no.staff.id": {"name": "Nobody", "groups": ["dcfs-case-managers"]},
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    yield from running(
        OpenIdProvider(
            tmp_path_factory.mktemp("provider"),
            clients=[
                web_client(
                    "node-dcfs",
                    SSO_SECRET,
                    f"{NODE}/sign-in/callback",
                    f"{NODE}/sign-in?signed_out=1",
                )
            ],
            accounts=ACCOUNTS,
        )
    )


@pytest.fixture
def node(api: Api, scenario: dict[str, int], tmp_path: Path, provider: OpenIdProvider) -> Node:
    return make_sso_node(api, tmp_path, provider.issuer, NODE)


def sign_in(
    node: Node, provider: OpenIdProvider, login: str, browser: httpx.Client, page: str = ""
) -> Any:
    """The whole round: the node's button, the provider's form, the node's callback."""
    start = node.client.get(
        "/sign-in/sso", params={"next": page} if page else None, follow_redirects=False
    )
    assert start.status_code == 303
    back = sign_in_at_provider(browser, start.headers["location"], login, provider.issuer)
    location = back.headers["location"]
    assert location.startswith(f"{NODE}/sign-in/callback?")
    return node.client.get(location.removeprefix(NODE), follow_redirects=False)


def test_a_case_manager_signs_in_with_the_state_account_and_returns_to_the_page(
    node: Node, provider: OpenIdProvider
) -> None:
    asked = node.client.get("/caseload", follow_redirects=False)
    assert asked.headers["location"] == "/sign-in?next=%2Fcaseload"
    form = node.client.get(asked.headers["location"])
    assert 'href="/sign-in/sso?next=/caseload"' in form.text
    assert "State employee sign-in" in form.text
    assert 'name="username"' in form.text  # local accounts remain

    start = node.client.get("/sign-in/sso", params={"next": "/caseload"}, follow_redirects=False)
    query = dict(parse_qsl(urlsplit(start.headers["location"]).query))
    assert query["code_challenge_method"] == "S256"
    assert query["client_id"] == "node-dcfs"
    assert query["redirect_uri"] == f"{NODE}/sign-in/callback"
    assert "code_verifier" not in query

    with httpx.Client() as browser:
        back = sign_in_at_provider(
            browser, start.headers["location"], "maria.lopez", provider.issuer
        )
    landed = node.client.get(back.headers["location"].removeprefix(NODE), follow_redirects=False)
    assert landed.status_code == 200
    assert moved_on_to(landed) == "/caseload"
    caseload = node.client.get("/caseload")
    assert caseload.status_code == 200
    assert "Maria Lopez" in caseload.text
    assert "Dana Whitfield" in caseload.text
    assert "Sam Other" not in caseload.text  # another case manager's client
    assert "Sign out (cm-0001)" in caseload.text


def test_roles_and_staff_ids_come_from_the_configured_claims(
    node: Node, provider: OpenIdProvider
) -> None:
    with httpx.Client() as browser:
        landed = sign_in(node, provider, "jin.kim", browser)
    assert moved_on_to(landed) == "/team"  # both groups: supervisor comes first
    assert "Sign out (sup-0001)" in node.client.get("/team").text

    node.client.cookies.clear()
    with httpx.Client() as browser:
        refused = sign_in(node, provider, "pat.planner", browser)
    assert refused.status_code == 403
    assert "no role on these pages" in refused.text
    assert "data steward" in refused.text
    assert node.client.get("/caseload", follow_redirects=False).status_code == 303

    with httpx.Client() as browser:
        refused = sign_in(node, provider, "no.staff.id", browser)
    assert refused.status_code == 403
    assert "employee_id" in refused.text
    assert node.client.get("/caseload", follow_redirects=False).status_code == 303


def test_a_forged_or_replayed_answer_is_refused(node: Node, provider: OpenIdProvider) -> None:
    start = node.client.get("/sign-in/sso", follow_redirects=False)
    with httpx.Client() as browser:
        back = sign_in_at_provider(
            browser, start.headers["location"], "maria.lopez", provider.issuer
        )
    callback = back.headers["location"].removeprefix(NODE)
    other_state = re.sub(r"state=[^&]+", "state=someone-elses", callback)
    refused = node.client.get(other_state)
    assert refused.status_code == 400
    assert "does not belong to this sign-in" in refused.text

    # The pending sign-in is gone after one use, so the same answer cannot be replayed.
    stranger = TestClient(node.client.app, base_url=NODE)
    replayed = stranger.get(callback)
    assert replayed.status_code == 400
    assert "started too long ago or in another browser" in replayed.text
    assert stranger.get("/caseload", follow_redirects=False).status_code == 303


def test_the_node_follows_a_key_rotation_at_the_provider(
    node: Node, provider: OpenIdProvider
) -> None:
    with httpx.Client() as browser:
        assert moved_on_to(sign_in(node, provider, "maria.lopez", browser)) == "/caseload"
    new_key = provider.rotate()
    node.client.cookies.clear()
    with httpx.Client() as browser:
        landed = sign_in(node, provider, "maria.lopez", browser)
    assert landed.status_code == 200, landed.text
    assert moved_on_to(landed) == "/caseload"
    assert new_key == "key-2"


def test_signing_out_ends_the_session_at_the_provider_too(
    node: Node, provider: OpenIdProvider
) -> None:
    with httpx.Client() as browser:
        sign_in(node, provider, "maria.lopez", browser)
        page = node.client.get("/caseload")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        out = node.client.post("/sign-out", data={"csrf": csrf}, follow_redirects=False)
        end_session = moved_on_to(out)
        assert end_session.startswith(f"{provider.issuer}/session/end?")
        assert "id_token_hint=" in end_session
        assert node.client.get("/caseload", follow_redirects=False).status_code == 303

        back = confirm_sign_out(browser, end_session, provider.issuer)
        assert back.headers["location"] == f"{NODE}/sign-in?signed_out=1"
        assert "You are signed out." in node.client.get("/sign-in?signed_out=1").text
        again = node.client.get("/sign-in/sso", follow_redirects=False).headers["location"]
        assert asks_to_sign_in(browser, again, provider.issuer)


def test_an_expired_session_says_so_and_signing_in_again_returns_to_the_page(
    node: Node, provider: OpenIdProvider
) -> None:
    signer = node.client.app.state.node.signer  # type: ignore[attr-defined]
    lifetime, signer.lifetime = signer.lifetime, -1  # sessions that have already ended
    with httpx.Client() as browser:
        sign_in(node, provider, "maria.lopez", browser)
        signer.lifetime = lifetime
        asked = node.client.get("/clients/DCFS-0001", follow_redirects=False)
        assert asked.headers["location"] == "/sign-in?next=%2Fclients%2FDCFS-0001"
        form = node.client.get(asked.headers["location"])
        assert "Your session expired" in form.text
        landed = sign_in(node, provider, "maria.lopez", browser, page="/clients/DCFS-0001")
    assert moved_on_to(landed) == "/clients/DCFS-0001"
    assert node.client.get("/clients/DCFS-0001").status_code == 200


def test_the_way_back_never_leads_off_the_node(node: Node, provider: OpenIdProvider) -> None:
    for elsewhere in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        with httpx.Client() as browser:
            landed = sign_in(node, provider, "maria.lopez", browser, page=elsewhere)
        assert moved_on_to(landed) == "/caseload"
