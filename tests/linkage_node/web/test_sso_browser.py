"""Signing in with the state's provider in a real browser (Debian's chromium, JavaScript
off): the provider on another site than the node, so the way back is a cross-site
navigation, as in a deployment, and the session cookie (SameSite=Strict) must still be
there on the first page after it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import ARTIFACTS
from tests.hub.api.factories import Api
from tests.linkage_node.web.conftest import SSO_SECRET, make_sso_node
from tests.openid_provider import OpenIdProvider, running, web_client
from tests.processes import free_port, serve_in_thread

pytestmark = pytest.mark.browser


@pytest.fixture
def site(api: Api, scenario: dict[str, int], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    node_url = f"http://localhost:{port}"  # the provider is at 127.0.0.1: another site
    provider = OpenIdProvider(
        tmp_path / "provider",
        clients=[
            web_client(
                "node-dcfs",
                SSO_SECRET,
                f"{node_url}/sign-in/callback",
                f"{node_url}/sign-in?signed_out=1",
            )
        ],
        accounts={"maria.lopez": {"employee_id": "cm-0001", "groups": ["dcfs-case-managers"]}},
    )
    (tmp_path / "provider").mkdir()
    for _ in running(provider):
        node = make_sso_node(api, tmp_path, provider.issuer, node_url)
        with serve_in_thread(node.client.app, lifespan="auto", port=port):
            yield node_url


def test_a_case_manager_signs_in_at_the_state_provider_in_a_browser(site: str, page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{site}/clients/DCFS-0001")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="State employee sign-in").click()
    # The provider's own login form (its development form: any password).
    page.locator("input[name=login]").fill("maria.lopez")
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    # Back on the node, on the page first asked for, signed in.
    expect(page.get_by_text("Officer Reyes")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out (cm-0001)")).to_be_visible()
    assert page.url == f"{site}/clients/DCFS-0001"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "signed-in-with-state-account.png"), full_page=True)

    page.get_by_role("button", name="Sign out (cm-0001)").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
