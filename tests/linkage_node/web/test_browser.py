"""A case manager in a real browser (Debian's chromium driven by Playwright), with
JavaScript switched off: the pages must work without it. Screenshots are kept in
`test-artifacts/` (or $PPRL_TEST_ARTIFACTS) for people to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from linkage_node.web.node import HTMX
from tests.browser import ARTIFACTS
from tests.hub.api.factories import (
    Api,
    add_notification,
    family_scenario,
    mother_consents,
    required_housing,
)
from tests.linkage_node.web.conftest import FAMILY, PASSWORD, Node, make_node
from tests.processes import serve_in_thread

pytestmark = pytest.mark.browser


@pytest.fixture
def served(node: Node) -> Iterator[str]:
    with serve_in_thread(node.client.app, lifespan="auto") as url:
        yield url


def test_a_case_manager_signs_in_and_sees_the_shared_client(served: str, page: Page) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{served}/caseload")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill("mlopez")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="My caseload")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Maria Lopez")
    expect(row).to_contain_text("Yes")
    expect(row).to_contain_text("corrections")
    page.screenshot(path=str(ARTIFACTS / "caseload.png"), full_page=True)

    page.get_by_role("link", name="Maria Lopez").click()
    expect(page.get_by_role("heading", name="Corrections")).to_be_visible()
    expect(page.get_by_text("Officer Reyes")).to_be_visible()
    expect(page.get_by_text("Consent verified")).to_be_visible()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "shared-client.png"), full_page=True)
    assert (ARTIFACTS / "shared-client.png").stat().st_size > 10_000

    # The keyboard reaches the skip link first, then the navigation.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_with_javascript_htmx_marks_a_notification_read_in_place(
    api: Api, served: str, js_page: Page
) -> None:
    assert HTMX.exists(), "make setup fetches htmx from the npm registry"
    add_notification(api)
    js_page.goto(f"{served}/sign-in")
    js_page.get_by_label("Username").fill("mlopez")
    js_page.get_by_label("Password").fill(PASSWORD)
    js_page.get_by_role("button", name="Sign in").click()
    item = js_page.get_by_role("listitem").filter(has_text="Matches changed")
    expect(item).to_be_visible()
    url = js_page.url
    item.get_by_role("button", name="Mark read").click()
    expect(item).to_have_count(0)
    assert js_page.url == url  # swapped in place, no page load


def _sign_in_at_375px(served: str, page: Page, username: str) -> None:
    """Sign in by keyboard on a phone-sized screen."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{served}/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")


def _open_client_at_375px(served: str, page: Page) -> None:
    """Sign in by keyboard on a phone-sized screen and open the shared client."""
    _sign_in_at_375px(served, page, "mlopez")
    expect(page.get_by_role("heading", name="My caseload")).to_be_visible()
    page.goto(f"{served}/clients/DCFS-0001")


def test_consent_is_recorded_and_revoked_at_375px_by_keyboard_without_javascript(
    served: str, page: Page, tmp_path: Path
) -> None:
    _open_client_at_375px(served, page)
    expect(page.get_by_role("heading", name="Consent on file at DCFS")).to_be_visible()
    scan = tmp_path / "release.pdf"
    scan.write_bytes(b"%PDF-1.4 signed release")
    # The form is filled from the keyboard: tick corrections with the space bar.
    corrections = page.get_by_role("checkbox", name="corrections")
    corrections.focus()
    page.keyboard.press("Space")
    expect(corrections).to_be_checked()
    page.get_by_label("Scan of the signed form").set_input_files(str(scan))
    page.get_by_role("button", name="Record consent").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("The consent form is recorded")
    row = page.get_by_role("row").filter(has_text="effective")
    expect(row).to_contain_text("corrections")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    page.screenshot(path=str(ARTIFACTS / "consent-recorded-375.png"), full_page=True)

    row.get_by_role("link", name="Revoke").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Revoke consent")).to_be_visible()
    page.get_by_role("button", name="Revoke consent").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(page.get_by_role("row").filter(has_text="revoked")).to_have_count(1)


def test_an_intake_worker_looks_a_person_up_at_375px_by_keyboard(
    api: Api, scenario: dict[str, int], tmp_path: Path, page: Page
) -> None:
    from datetime import UTC, datetime

    import httpx

    from keys import new_linkage_secret
    from tests.linkage_node.web.conftest import make_node

    new_linkage_secret("2026-11").save(tmp_path / "secret.json")
    answer = {
        "decided_at": datetime.now(UTC).isoformat(),
        "programs": [{"program": "corrections", "confidence": "high"}],
    }
    hub = httpx.Client(
        base_url="http://hub.test",
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json=answer)),
    )
    node = make_node(api, tmp_path, hub, linkage_secret_file=tmp_path / "secret.json")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 375, "height": 800})
    with serve_in_thread(node.client.app, lifespan="auto") as served:
        page.goto(f"{served}/sign-in")
        page.get_by_label("Username").fill("ilee")
        page.get_by_label("Password").fill(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Intake lookup")).to_be_visible()
        page.get_by_label("Given name").fill("Quillonette")
        page.get_by_label("Family name").fill("Zarbowicz")
        page.get_by_label("Date of birth").fill("1983-07-19")
        page.get_by_role("button", name="Look up").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("Corrections serves someone matching")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
        page.screenshot(path=str(ARTIFACTS / "intake-lookup-375.png"), full_page=True)


def test_the_timeline_opens_by_keyboard_at_375px_without_javascript(
    api: Api, served: str, page: Page
) -> None:
    required_housing(api)
    _open_client_at_375px(served, page)
    plan = page.get_by_role("table").filter(has_text="basic needs first")
    conflicted = plan.get_by_role("row").filter(has_text="Move into an approved address")
    expect(conflicted).to_contain_text("Conflict")
    expect(page.get_by_text("Competing deadlines (required milestone)")).to_be_visible()
    entry = page.locator("ol.timeline > li").filter(has_text="Move into an approved address")
    summary = entry.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(entry.get_by_text("condition of supervision")).to_be_visible()
    expect(entry.get_by_text("3 sessions of 12 sessions delivered")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    page.screenshot(path=str(ARTIFACTS / "timeline-375.png"), full_page=True)


def test_a_supervisor_filters_the_team_at_375px_by_keyboard(
    api: Api, served: str, page: Page
) -> None:
    org = {
        "staff": [
            {"staff_id": "cm-0001", "supervisor_id": "sup-0001", "office": "North"},
            {"staff_id": "cm-0002", "supervisor_id": "sup-0001", "office": "South"},
            {"staff_id": "sup-0001"},
        ]
    }
    api.client.put("/v1/agencies/DCFS/staff", json=org, headers=api.as_("DCFS"))
    _sign_in_at_375px(served, page, "jkim")
    expect(page.get_by_role("heading", name="My team")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Maria Lopez")).to_be_visible()
    office = page.get_by_label("Office")
    office.focus()
    office.select_option("South")
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("No clients match the filter")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    page.screenshot(path=str(ARTIFACTS / "team-375.png"), full_page=True)
    page.get_by_role("link", name=re.compile("dashboard")).click()
    expect(page.get_by_role("img", name=re.compile("Milestones newly stuck"))).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the team dashboard scrolls sideways at 375 px ({width} px wide)"


@pytest.fixture
def family_served(api: Api, tmp_path: Path) -> Iterator[str]:
    """DCFS's node for the family of the hub's family tests, the mother consented."""
    family_scenario(api)
    mother_consents(api)
    node = make_node(api, tmp_path, directory=FAMILY)
    with serve_in_thread(node.client.app, lifespan="auto") as url:
        yield url


def test_the_family_section_reads_at_375px_without_javascript(
    family_served: str, page: Page
) -> None:
    _sign_in_at_375px(family_served, page, "mlopez")
    expect(page.get_by_role("heading", name="My caseload")).to_be_visible()
    page.goto(f"{family_served}/clients/DCFS-K")
    expect(page.get_by_role("heading", name="Family")).to_be_visible()
    family = page.locator("ul.family")
    expect(family.locator("li").filter(has_text="Rosalind Baptiste")).to_contain_text(
        "Also served by corrections"
    )
    expect(family.locator("li").filter(has_text="Marisol Baptiste")).to_contain_text(
        "No other program that may be named to you serves them"
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    page.screenshot(path=str(ARTIFACTS / "family-375.png"), full_page=True)
