"""Enrollment history at the hub (issue 19), on the three-program scenario: child welfare
(DCFS, record A) linked to corrections (DOC, B: consent to existence, contact, plan) and
family employment (DWD, C: existence and contact).

An exit keeps the record as history (linked, named with its dates), drops its contact and
plan at once, tells the linked case managers, and shows on the caseload once; history is
gated like existence; retention purges it, recorded as removals.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from hub.models import Assignment, Encoding, EncodingRemoval, Milestone, Notification
from hub.services.retention import purge_history
from keys import Role
from tests.hub.api.factories import (
    A,
    Api,
    B,
    C,
    access_entries,
    ask_shared,
    encodings,
    revoke,
)

TODAY = datetime.now(UTC).date()


def exit_record(
    api: Api,
    agency: str,
    record: str,
    exited_on: str | None,
    *,
    key: str,
    enrolled_on: str | None = None,
) -> Any:
    """Upload `record` again with its exit date (None: enrolled again)."""
    body = encodings(1)
    body["upserts"][0].update(ref=record, exited_on=exited_on, enrolled_on=enrolled_on)
    return api.post(f"/v1/agencies/{agency}/encodings/batches", body, api.as_(agency), key)


def test_an_exit_keeps_the_record_as_history_and_drops_its_contact_and_plan(
    api: Api, scenario: dict[str, int]
) -> None:
    exited = (TODAY - timedelta(days=10)).isoformat()
    response = exit_record(
        api,
        "DOC",
        B,
        exited,
        key="exit-00001",
        enrolled_on=(TODAY - timedelta(days=400)).isoformat(),
    )
    assert response.status_code == 200, response.text
    row = api.session.get(Encoding, ("DOC", B))
    assert row is not None
    assert row.exited_on is not None
    assert row.exit_noticed_at is not None
    assert api.session.get(Assignment, ("DOC", B)) is None
    assert api.session.execute(select(Milestone).where(col(Milestone.ref) == B)).first() is None
    # The case manager of the linked child-welfare record is told (no client, no program).
    told = api.session.execute(
        select(Notification).where(col(Notification.kind) == "enrollment_changed")
    ).scalars()
    assert [(n.agency_id, n.case_manager_id) for n in told] == [("DCFS", "cm-0001")]

    before = len(access_entries(api))
    body = ask_shared(api, A).json()
    assert [p["program"] for p in body["programs"]] == ["family_employment"]
    assert body["shared"] is True
    (past,) = body["past_enrollments"]
    assert (past["program"], past["exited_on"]) == ("corrections", exited)
    assert past["enrolled_on"] == (TODAY - timedelta(days=400)).isoformat()
    assert past["existence"]["allowed"] is True
    # Consent covered contact and plan; the exit took them away all the same.
    assert past["contact"]["allowed"] is False
    assert past["contact"]["why"] == "exited"
    assert past["plan"]["why"] == "exited"
    assert past["contact_details"] is None
    assert past["milestones"] is None
    assert all(m["program"] != "corrections" for m in body["plan"])
    assert "Officer Reyes" not in json.dumps(body)
    # Naming the past enrollment is a disclosure, recorded like any other.
    recorded = access_entries(api)[before:]
    assert any(e.disclosing_program == "corrections" for e in recorded)


def test_history_is_named_only_where_existence_may_be(api: Api, scenario: dict[str, int]) -> None:
    api.hub.settings = api.hub.settings.model_copy(update={"existence_policy": "consent"})
    exited = (TODAY - timedelta(days=3)).isoformat()
    assert exit_record(api, "DWD", C, exited, key="exit-00002").status_code == 200
    consented = ask_shared(api, A).json()
    assert [p["program"] for p in consented["past_enrollments"]] == ["family_employment"]
    assert consented["past_enrollments"][0]["existence"]["basis"] == "consent"
    revoke(api, "DWD", scenario["dwd"])
    withdrawn = ask_shared(api, A).json()
    assert withdrawn["past_enrollments"] == []
    assert "family_employment" not in json.dumps(withdrawn)


def test_the_caseload_says_who_exited_once_and_lists_past_programs(
    api: Api, scenario: dict[str, int]
) -> None:
    headers = api.as_("DCFS", "cm-0001", Role.CASE_MANAGER)
    api.client.get("/v1/caseload", headers=headers)  # the visit before the exit
    exited = (TODAY - timedelta(days=1)).isoformat()
    assert exit_record(api, "DOC", B, exited, key="exit-00003").status_code == 200
    first = {
        c["record_ref"]: c
        for c in api.client.get("/v1/caseload", headers=headers).json()["clients"]
    }
    assert f"exited from corrections on {exited}" in first[A]["changes"]
    assert first[A]["programs"] == ["family_employment"]
    assert first[A]["past_programs"] == [f"corrections (until {exited})"]
    again = {
        c["record_ref"]: c
        for c in api.client.get("/v1/caseload", headers=headers).json()["clients"]
    }
    assert again[A]["changes"] == []
    assert again[A]["past_programs"] == [f"corrections (until {exited})"]


def test_a_client_enrolled_again_is_current_again(api: Api, scenario: dict[str, int]) -> None:
    exited = (TODAY - timedelta(days=30)).isoformat()
    assert exit_record(api, "DOC", B, exited, key="exit-00004").status_code == 200
    assert exit_record(api, "DOC", B, None, key="back-00004").status_code == 200
    row = api.session.get(Encoding, ("DOC", B))
    assert row is not None
    assert row.exited_on is None
    assert row.exit_noticed_at is None
    body = ask_shared(api, A).json()
    assert {p["program"] for p in body["programs"]} == {"corrections", "family_employment"}
    assert body["past_enrollments"] == []


def test_an_exit_before_the_enrollment_is_refused(api: Api, scenario: dict[str, int]) -> None:
    response = exit_record(api, "DOC", B, "2024-01-01", key="exit-00005", enrolled_on="2024-06-01")
    assert response.status_code == 422
    assert "exited_on is before enrolled_on" in response.text
    row = api.session.get(Encoding, ("DOC", B))
    assert row is not None
    assert row.exited_on is None


def test_retention_purges_only_history_older_than_the_period(
    api: Api, scenario: dict[str, int]
) -> None:
    long_ago = (TODAY - timedelta(days=2600)).isoformat()  # over seven years
    recent = (TODAY - timedelta(days=100)).isoformat()
    assert exit_record(api, "DOC", B, long_ago, key="exit-00006").status_code == 200
    assert exit_record(api, "DWD", C, recent, key="exit-00007").status_code == 200
    cutoff = TODAY - timedelta(days=api.settings.history_retention_days)
    counted = purge_history(api.session, exited_before=cutoff, dry_run=True)
    assert dict(counted) == {"DOC": 1}
    assert api.session.get(Encoding, ("DOC", B)) is not None  # a dry run purges nothing
    purged = purge_history(api.session, exited_before=cutoff)
    assert dict(purged) == {"DOC": 1}
    assert api.session.get(Encoding, ("DOC", B)) is None
    assert api.session.get(Encoding, ("DWD", C)) is not None  # recent history stays
    assert api.session.get(Encoding, ("DCFS", A)) is not None  # current records stay
    removal = api.session.execute(
        select(EncodingRemoval).where(col(EncodingRemoval.ref) == B)
    ).scalar_one()
    assert removal.agency_id == "DOC"  # the next linkage run dissolves its links
