"""The operators' dashboard on a live hub with a real linkage run: in a browser (Debian's
chromium, JavaScript off), the histogram with the threshold marked, the threshold table
changing the counts; and the pages' sign-in rules."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from keys import Role, issue_token
from linkage_node.synthetic import linked_rosters
from tests.browser import ARTIFACTS
from tests.hub.live import LiveHub, encode_and_sync, run_linkage

pytestmark = [
    pytest.mark.parametrize("hub", ["sqlite"], indirect=True),
    pytest.mark.browser,
    pytest.mark.live,
]


@pytest.fixture
def linked(hub: LiveHub, tmp_path: Path) -> LiveHub:
    rosters = linked_rosters(["DCFS", "DOC"], 400, shared=0.4, seed=29)
    for agency in ("DCFS", "DOC"):
        encode_and_sync(hub, tmp_path, agency, rosters.rows[agency])
    run = run_linkage(hub, kind="full")
    assert run["status"] == "succeeded", run
    return hub


def test_the_dashboard_marks_the_threshold_and_the_table_changes_the_counts(
    linked: LiveHub, page: Page
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    token = linked.operators.issue(subject="op-1", audience="pprl-hub", roles=[Role.HUB_OPERATOR])
    page.goto(f"{linked.url}/operator")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("Linkage run 1"))).to_be_visible()
    histogram = page.get_by_role("img", name="Best score per record, log scale")
    expect(histogram).to_be_visible()
    line = histogram.locator("line.threshold")
    expect(line).to_have_count(1)
    before_x = line.get_attribute("x1")
    before_links = page.locator("#links-at").inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.get_by_label("Show the counts at threshold").select_option("0.92")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("status")).to_contain_text("At threshold 0.92")
    after_links = page.locator("#links-at").inner_text()
    assert int(after_links.replace(",", "")) < int(before_links.replace(",", ""))
    assert histogram.locator("line.threshold").get_attribute("x1") != before_x
    page.screenshot(path=str(ARTIFACTS / "dashboard-threshold-0.92.png"), full_page=True)

    page.get_by_role("link", name="Encoding health").click()
    expect(page.get_by_role("heading", name="Encoding health per agency")).to_be_visible()
    encodings = page.get_by_role("table").filter(has_text="Popcount")
    expect(encodings.get_by_role("row").filter(has_text="DCFS")).to_contain_text("matches")
    # The nodes synced just now: on time.
    syncs = page.get_by_role("table").filter(has_text="Last sync per agency")
    expect(syncs.get_by_role("row").filter(has_text="DCFS")).to_contain_text("on time")
    page.get_by_role("link", name="Overlap report").click()
    expect(page.get_by_role("heading", name="Clients shared between programs")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "overlap.png"), full_page=True)


def test_pages_refuse_without_an_operator_token(linked: LiveHub) -> None:
    with httpx.Client(base_url=linked.url) as client:
        assert client.get("/operator/runs/1").status_code == 303
        form = client.get("/operator/sign-in")
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        token = issue_token(
            linked.identities["DCFS"],
            subject="cm-0001",
            audience="pprl-hub",
            roles=[Role.CASE_MANAGER],
        )
        refused = client.post("/operator/sign-in", data={"token": token, "csrf": csrf})
        assert refused.status_code == 403
        forged = client.post("/operator/sign-in", data={"token": "x.y.z", "csrf": csrf})
        assert forged.status_code == 401
        no_csrf = client.post("/operator/sign-in", data={"token": token})
        assert no_csrf.status_code == 400
        csv = client.get("/operator/runs/1/thresholds.csv")
        assert csv.status_code == 303  # not signed in
        operator = linked.operators.issue(
            subject="op-1", audience="pprl-hub", roles=[Role.HUB_OPERATOR]
        )
        signed = client.post("/operator/sign-in", data={"token": operator, "csrf": csrf})
        assert signed.status_code == 303
        scores = client.get("/operator/runs/1/histogram.csv")
        assert scores.headers["content-type"].startswith("text/csv")
        rows = scores.text.splitlines()
        assert rows[0] == "score_from,score_to,records"
        # Every record with a candidate at or above the scoring floor is counted once:
        # all the linked ones, and strangers whose best stranger scored that high.
        counted = sum(int(r.split(",")[2]) for r in rows[1:])
        with linked.engine.connect() as conn:
            in_clusters = conn.execute(text("SELECT count(*) FROM record_cluster")).scalar_one()
        assert in_clusters <= counted <= 800
        table = client.get("/operator/runs/1/thresholds.csv").text.splitlines()
        assert table[0].startswith("threshold,records_linked")
        assert len(table) == 1 + 36


def test_an_executive_reads_the_dashboard_at_375px(linked: LiveHub, page: Page) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    token = issue_token(
        linked.identities["DCFS"], subject="ex-1", audience="pprl-hub", roles=[Role.EXECUTIVE]
    )
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{linked.url}/operator/sign-in")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").press("Enter")
    expect(page.get_by_role("heading", name="What disrupts clients' progress")).to_be_visible()
    chart = page.get_by_role("img", name=re.compile("Clients newly shared between programs"))
    expect(chart).to_be_visible()
    page.get_by_text("The numbers").first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("table").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    page.screenshot(path=str(ARTIFACTS / "management-dashboard-375.png"), full_page=True)
