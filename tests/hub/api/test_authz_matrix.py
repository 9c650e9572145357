"""Object-level authorization: every role against every record of every agency.

Each agency has case managers cm-1 and cm-2; cm-1 reports to sup-1, cm-2 to sup-2, who
reports to mgr-1; sup-3 supervises nobody of them. Five records: two assigned to cm-1,
two to cm-2, one unassigned. A supervisor sees the clients of their chain of command
only. A refused access must be answered exactly like a record that does not exist (same
status, same body), so probing reveals nothing.
"""

from __future__ import annotations

import itertools
from typing import Any

from keys import Role
from tests.hub.api.factories import Api, encodings, ref

AGENCIES = ("DCFS", "DJJ", "DOC")
USERS = (
    ("cm-1", Role.CASE_MANAGER),
    ("cm-2", Role.CASE_MANAGER),
    ("sup-1", Role.SUPERVISOR),
    ("sup-2", Role.SUPERVISOR),
    ("mgr-1", Role.SUPERVISOR),
    ("sup-3", Role.SUPERVISOR),
)
ASSIGNED = {0: "cm-1", 1: "cm-1", 2: "cm-2", 3: "cm-2", 4: None}
REPORTS_TO = {"cm-1": "sup-1", "cm-2": "sup-2", "sup-2": "mgr-1"}
ORG = {
    "staff": [
        {"staff_id": s, "supervisor_id": REPORTS_TO.get(s)}
        for s in ("cm-1", "cm-2", "sup-1", "sup-2", "mgr-1", "sup-3")
    ]
}


def _sees(subject: str, assigned: str | None) -> bool:
    """The assigned case manager, and everyone above them."""
    while assigned is not None:
        if assigned == subject:
            return True
        assigned = REPORTS_TO.get(assigned)
    return False


def _record(agency: str, i: int) -> str:
    return ref(f"{agency}-record-{i}")


def _setup(api: Api) -> None:
    api.register(*AGENCIES)
    for agency in AGENCIES:
        body = encodings(0)
        body["upserts"] = [
            {"ref": _record(agency, i), "clk": encodings(1)["upserts"][0]["clk"]} for i in ASSIGNED
        ]
        assert (
            api.post(
                f"/v1/agencies/{agency}/encodings/batches", body, api.as_(agency), key="enc-00001"
            ).status_code
            == 200
        )
        assignments = {
            "upserts": [
                {"ref": _record(agency, i), "case_manager_id": who}
                for i, who in ASSIGNED.items()
                if who
            ]
        }
        assert (
            api.post(
                f"/v1/agencies/{agency}/assignments/batches",
                assignments,
                api.as_(agency),
                key="asg-00001",
            ).status_code
            == 200
        )
        assert (
            api.client.put(
                f"/v1/agencies/{agency}/staff", json=ORG, headers=api.as_(agency)
            ).json()["supervisors"]
            == 3
        )


def _without_instance(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "instance"}


def test_every_cross_agency_or_unassigned_access_looks_like_a_missing_record(api: Api) -> None:
    _setup(api)
    checked = 0
    for home, (subject, role) in itertools.product(AGENCIES, USERS):
        headers = api.as_(home, subject, role)
        missing = api.client.get(
            f"/v1/agencies/{home}/records/{ref('does-not-exist')}", headers=headers
        )
        assert missing.status_code == 404
        for agency, i in itertools.product(AGENCIES, ASSIGNED):
            response = api.client.get(
                f"/v1/agencies/{agency}/records/{_record(agency, i)}", headers=headers
            )
            allowed = agency == home and _sees(subject, ASSIGNED[i])
            if allowed:
                assert response.status_code == 200, (home, subject, agency, i)
                assert response.json()["case_manager_id"] == ASSIGNED[i]
            else:
                assert response.status_code == missing.status_code, (home, subject, agency, i)
                assert _without_instance(response.json()) == _without_instance(missing.json())
            checked += 1
    assert checked == 3 * len(USERS) * 15


def test_operators_and_other_nodes_see_no_record(api: Api) -> None:
    _setup(api)
    path = f"/v1/agencies/DCFS/records/{_record('DCFS', 0)}"
    assert api.client.get(path, headers=api.as_("DCFS")).status_code == 200
    for headers in (api.operator(), api.operator(Role.AUDITOR), api.as_("DOC")):
        assert api.client.get(path, headers=headers).status_code == 404
