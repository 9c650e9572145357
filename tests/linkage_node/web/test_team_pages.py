"""The supervisor's pages: their team with names, filters, and the clients they may
open (those of their chain only)."""

from __future__ import annotations

from typing import Any

from tests.hub.api.factories import Api, D, required_housing
from tests.linkage_node.web.conftest import Node

ORG = {
    "staff": [
        {"staff_id": "cm-0001", "supervisor_id": "sup-0001", "office": "North"},
        {"staff_id": "cm-0002", "supervisor_id": "sup-0002", "office": "South"},
        {"staff_id": "sup-0001"},
        {"staff_id": "sup-0002"},
    ]
}


def _org(api: Api, body: Any = ORG) -> None:
    assert api.client.put("/v1/agencies/DCFS/staff", json=body, headers=api.as_("DCFS")).is_success


def test_a_supervisor_lands_on_their_team_with_what_needs_them_first(api: Api, node: Node) -> None:
    _org(api)
    required_housing(api)
    client = node.sign_in("jkim")
    assert client.get("/caseload", follow_redirects=False).headers["location"] == "/team"
    page = client.get("/team")
    assert page.status_code == 200, page.text
    text = page.text
    assert '<a href="/team">My team</a>' in text
    rows = text.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    # Maria's plan has a conflict with a required milestone: she comes first.
    assert "Maria Lopez" in rows[0]
    # Competing deadlines, overlapping housing and stuck, all about the required one.
    assert "3 conflicts (3 with a required milestone), 1 stuck" in rows[0]
    assert "1 stuck" in rows[0]
    assert "Dana Whitfield" in rows[1]
    assert "Sam Other" not in text  # cm-0002 reports to someone else
    # The filters: one case manager, one office.
    assert '<option value="cm-0001">cm-0001 (North)</option>' in text
    narrowed = client.get("/team", params={"office": "South"}).text
    assert "Maria Lopez" not in narrowed
    assert "No clients match the filter" in narrowed


def test_a_supervisor_opens_a_client_of_their_team_and_no_other(api: Api, node: Node) -> None:
    _org(api)
    client = node.sign_in("jkim")
    opened = client.get("/clients/DCFS-0001")
    assert opened.status_code == 200
    assert "Officer Reyes" in opened.text  # consented contact, shown to the chain too
    assert '<a href="/team">My team</a>' in opened.text
    # Dana is moved to a case manager under another supervisor: not theirs any more.
    api.post(
        "/v1/agencies/DCFS/assignments/batches",
        {"upserts": [{"ref": D, "case_manager_id": "cm-0002"}]},
        api.as_("DCFS"),
        "asg-00078",
    )
    other = client.get("/clients/DCFS-0002")
    missing = client.get("/clients/DCFS-9999")
    assert other.status_code == missing.status_code == 404
    assert other.text == missing.text
    assert '<a href="/team">Back to my team</a>' in other.text


def test_with_no_org_structure_the_team_page_says_what_to_do(api: Api, node: Node) -> None:
    page = node.sign_in("jkim").get("/team").text
    assert "Nobody reports to you" in page
    assert "supervisor_id" in page
    assert "Maria Lopez" not in page


def test_the_team_dashboard_page_and_its_csv(api: Api, node: Node) -> None:
    _org(api)
    required_housing(api)  # another program's plan: not counted on the team dashboard
    client = node.sign_in("jkim")
    assert 'href="/team/dashboard"' in client.get("/team").text
    page = client.get("/team/dashboard")
    assert page.status_code == 200, page.text
    assert "What gets my team" in page.text
    assert "Nothing is stuck." in page.text  # child welfare's own plan has nothing stuck
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 2
    assert "Milestones newly stuck, by month" in page.text
    download = client.get("/team/dashboard.csv")
    assert download.headers["content-type"].startswith("text/csv")
    rows = download.text.splitlines()
    assert rows[0] == "section,key,month,value"
    # This small team reaches no count of 11: every number is suppressed, even zeros.
    assert rows[1:]
    assert all(r.endswith(",suppressed") for r in rows[1:])
