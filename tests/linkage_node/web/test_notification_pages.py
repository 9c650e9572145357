"""A case manager's notification settings page: the choices are kept at the hub and
decide what is queued."""

from __future__ import annotations

from keys import Role
from tests.hub.api.factories import Api
from tests.linkage_node.web.conftest import Node


def test_a_case_manager_turns_a_kind_off_and_keeps_another_in_the_feed(
    api: Api, node: Node
) -> None:
    client = node.sign_in()
    assert 'href="/notifications/settings"' in client.get("/caseload").text
    form = client.get("/notifications/settings")
    assert form.status_code == 200, form.text
    assert "Emails never name a client" in form.text
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    saved = client.post(
        "/notifications/settings",
        data={"csrf": csrf, "kind-new_conflict": "off", "kind-milestone_stuck": "in_app"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = client.get(saved.headers["location"]).text
    assert "Your notification settings are saved." in page
    assert 'name="kind-new_conflict" value="off" checked' in page
    held = api.client.get(
        "/v1/notifications/preferences", headers=api.as_("DCFS", "cm-0001", Role.CASE_MANAGER)
    ).json()
    assert {p["kind"]: p["delivery"] for p in held}["milestone_stuck"] == "in_app"


def test_the_form_needs_its_token(api: Api, node: Node) -> None:
    client = node.sign_in()
    refused = client.post("/notifications/settings", data={"kind-new_conflict": "off"})
    assert refused.status_code == 400


def test_supervisors_have_no_notification_settings(api: Api, node: Node) -> None:
    assert node.sign_in("jkim").get("/notifications/settings").status_code == 403
