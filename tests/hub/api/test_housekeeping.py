"""Housekeeping notifications (issue 20), on the three-program scenario: when corrections
gives its record B (linked to child welfare's A) a new case manager, A's case manager is
told once, in words that name no client and no program; the same assignment sent again,
or a first assignment, tells nobody."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from hub.models import Notification
from keys import Role
from tests.hub.api.factories import Api, B


def _assign(api: Api, staff: str, key: str) -> None:
    body = {"upserts": [{"ref": B, "case_manager_id": staff, "contact": {}}]}
    response = api.post("/v1/agencies/DOC/assignments/batches", body, api.as_("DOC"), key)
    assert response.status_code == 200, response.text


def _told(api: Api) -> list[tuple[str, str]]:
    rows = api.session.execute(
        select(Notification).where(col(Notification.kind) == "case_manager_changed")
    ).scalars()
    return [(n.agency_id, n.case_manager_id) for n in rows]


def test_a_new_case_manager_at_another_program_is_told_to_the_linked_case_manager(
    api: Api, scenario: dict[str, int]
) -> None:
    _assign(api, "cm-0007", "asg-00002")  # the same case manager again: no change
    assert _told(api) == []
    _assign(api, "cm-0010", "asg-00003")
    assert _told(api) == [("DCFS", "cm-0001")]
    feed = api.client.get(
        "/v1/notifications", headers=api.as_("DCFS", "cm-0001", Role.CASE_MANAGER)
    ).json()
    (note,) = [n for n in feed if n["kind"] == "case_manager_changed"]
    assert "assigned them a new case manager" in note["message"]
    assert "corrections" not in note["message"]
    # Corrections' own staff and the unlinked records' case managers are not told.
    assert all(agency == "DCFS" for agency, _ in _told(api))
