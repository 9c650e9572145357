"""A supervisor's team caseload: the clients of their chain of command only, what needs
them first, decided and recorded like a client answer."""

from __future__ import annotations

from typing import Any

from keys import Role
from tests.hub.api.factories import (
    A,
    Api,
    D,
    access_entries,
    encodings,
    milestones,
    ref,
    required_housing,
)

ORG = {
    "staff": [
        {"staff_id": "cm-0001", "supervisor_id": "sup-0001", "office": "North"},
        {"staff_id": "cm-0002", "supervisor_id": "sup-0002", "office": "South"},
        {"staff_id": "sup-0001", "supervisor_id": "mgr-0001", "office": "North"},
        {"staff_id": "sup-0002", "supervisor_id": "mgr-0001", "office": "South"},
        {"staff_id": "mgr-0001"},
    ]
}


def _team(api: Api, staff: str, **query: str) -> Any:
    return api.client.get("/v1/team", params=query, headers=api.as_("DCFS", staff, Role.SUPERVISOR))


def _setup(api: Api) -> None:
    assert api.client.put("/v1/agencies/DCFS/staff", json=ORG, headers=api.as_("DCFS")).is_success
    moved = api.post(
        "/v1/agencies/DCFS/assignments/batches",
        {"upserts": [{"ref": D, "case_manager_id": "cm-0002"}]},
        api.as_("DCFS"),
        "asg-00077",
    )
    assert moved.status_code == 200
    required_housing(api)  # a required milestone in conflict with A's lease, stuck


def test_a_supervisor_sees_their_chain_with_what_needs_them_first(
    api: Api, scenario: dict[str, int]
) -> None:
    _setup(api)
    first = _team(api, "sup-0001")
    assert first.status_code == 200, first.text
    body = first.json()
    assert [c["record_ref"] for c in body["clients"]] == [A]  # not cm-0002's client
    a = body["clients"][0]
    assert a["case_manager_id"] == "cm-0001"
    assert a["office"] == "North"
    assert a["shared"] is True
    assert a["programs"] == ["corrections", "family_employment"]
    assert a["conflicts"] >= 1
    assert a["non_negotiable_conflicts"] >= 1
    assert a["stuck"] == 1  # corrections' residence, shown because consent covers the plan
    assert "newly assigned to cm-0001" in a["changes"]
    assert [m["staff_id"] for m in body["members"]] == ["cm-0001"]

    # The manager above both sees both, conflicts first; filters narrow to the team.
    both = _team(api, "mgr-0001").json()
    assert [c["record_ref"] for c in both["clients"]] == [A, D]
    assert [c["record_ref"] for c in _team(api, "mgr-0001", office="South").json()["clients"]] == [
        D
    ]
    only = _team(api, "mgr-0001", case_manager="cm-0001").json()["clients"]
    assert [c["record_ref"] for c in only] == [A]
    # Naming someone outside the team shows nothing of theirs.
    assert _team(api, "sup-0002", case_manager="cm-0001").json()["clients"] == []


def test_what_the_team_page_shows_is_on_the_ledger_once(api: Api, scenario: dict[str, int]) -> None:
    _setup(api)
    size = len(access_entries(api))
    _team(api, "sup-0001")
    recorded = access_entries(api)[size:]
    assert {(e.requester_staff, e.purpose) for e in recorded} == {("sup-0001", "supervision")}
    shown = {(e.disclosing_program, c) for e in recorded for c in e.data_classes}
    assert ("corrections", "plan") in shown  # the counts came from corrections' plan
    assert ("family_employment", "plan") not in shown  # not consented: not read
    size = len(access_entries(api))
    _team(api, "sup-0001")
    assert len(access_entries(api)) == size  # reopened within the window: nothing new


def test_only_supervisors_have_a_team(api: Api, scenario: dict[str, int]) -> None:
    _setup(api)
    headers = api.as_("DCFS", "cm-0001", Role.CASE_MANAGER)
    assert api.client.get("/v1/team", headers=headers).status_code == 403
    # A supervisor nobody reports to has an empty team, not the agency's clients.
    lonely = _team(api, "sup-0009").json()
    assert (lonely["members"], lonely["clients"]) == ([], [])


def test_the_team_dashboard_counts_the_teams_own_plans_under_the_small_cell_rule(
    api: Api, scenario: dict[str, int]
) -> None:
    _setup(api)
    refs = [ref(f"team-{i}") for i in range(25)]
    body = {
        **encodings(0),
        "upserts": [{"ref": r, "clk": encodings(1)["upserts"][0]["clk"]} for r in refs],
    }
    assert (
        api.post(
            "/v1/agencies/DCFS/encodings/batches", body, api.as_("DCFS"), "enc-00077"
        ).status_code
        == 200
    )
    assigned = {"upserts": [{"ref": r, "case_manager_id": "cm-0001"} for r in refs]}
    assert (
        api.post(
            "/v1/agencies/DCFS/assignments/batches", assigned, api.as_("DCFS"), "asg-00079"
        ).status_code
        == 200
    )
    reasons = ["waitlist"] * 12 + ["documents"] * 11 + ["transportation"] * 2
    plan = [
        {
            "ref": r,
            "milestone_id": "m1",
            "goal": "g",
            "milestone": "m",
            "status": "stuck",
            "stuck_reason": why,
        }
        for r, why in zip(refs, reasons, strict=True)
    ]
    milestones(api, "DCFS", plan, batch="pln-00077")
    answer = api.client.get(
        "/v1/team/dashboard", headers=api.as_("DCFS", "sup-0001", Role.SUPERVISOR)
    )
    assert answer.status_code == 200, answer.text
    got = answer.json()
    # Two on transportation are too few; documents (11) goes with them, or the total
    # would give them away.
    assert got["stuck_by_reason"] == {"documents": None, "transportation": None, "waitlist": 12}
    assert got["stuck_total"] == 25
    assert got["newly_stuck"][-1] == 25  # stuck since today (the hub's last change)
    # The other supervisor's team holds none of these.
    other = api.client.get(
        "/v1/team/dashboard", headers=api.as_("DCFS", "sup-0002", Role.SUPERVISOR)
    ).json()
    assert other["stuck_by_reason"] == {}
    refused = api.client.get(
        "/v1/team/dashboard", headers=api.as_("DCFS", "cm-0001", Role.CASE_MANAGER)
    )
    assert refused.status_code == 403
