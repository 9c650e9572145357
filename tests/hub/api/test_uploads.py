from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import func, select, text

from hub.db import table_of
from hub.models import Assignment, Encoding, Milestone
from keys import Role, canonical
from tests.hub.api.factories import Api, encodings, milestones, ref, upload


def stored(api: Api, agency: str) -> int:
    table = table_of(Encoding)
    query = select(func.count()).select_from(table).where(table.c.agency_id == agency)
    return int(api.session.execute(query).scalar_one())


def test_batch_is_stored_and_a_replay_changes_nothing(api: Api) -> None:
    api.register("DCFS")
    body = encodings(20)
    first = api.post(
        "/v1/agencies/DCFS/encodings/batches", body, api.as_("DCFS"), key="run-1-batch-1"
    )
    assert first.status_code == 200, first.text
    assert first.json() == {
        "batch_id": "run-1-batch-1",
        "kind": "encodings",
        "accepted": 20,
        "removed": 0,
        "replayed": False,
        "replaced": 0,
    }
    again = api.post(
        "/v1/agencies/DCFS/encodings/batches", body, api.as_("DCFS"), key="run-1-batch-1"
    )
    assert again.json()["replayed"] is True
    assert stored(api, "DCFS") == 20
    other = api.post(
        "/v1/agencies/DCFS/encodings/batches", encodings(3), api.as_("DCFS"), key="run-1-batch-1"
    )
    assert other.status_code == 409
    assert "Idempotency-Key was already used" in other.json()["detail"]


def test_removals_and_updates(api: Api) -> None:
    api.register("DCFS")
    api.post(
        "/v1/agencies/DCFS/encodings/batches", encodings(10), api.as_("DCFS"), key="batch-00001"
    )
    body = encodings(2, start=8, removals=[ref("r0"), ref("r1"), ref("nope")])
    out = api.post(
        "/v1/agencies/DCFS/encodings/batches", body, api.as_("DCFS"), key="batch-00002"
    ).json()
    assert (out["accepted"], out["removed"]) == (2, 2)
    assert stored(api, "DCFS") == 8


def test_a_client_who_left_takes_their_contact_and_plan_with_them(api: Api) -> None:
    api.register("DCFS")
    upload(
        api,
        "DCFS",
        [ref("r0"), ref("r1")],
        {ref("r0"): ("cm-0001", {}), ref("r1"): ("cm-0001", {})},
    )
    item = {"goal": "Housing", "milestone": "Lease signed", "status": "in_progress"}
    milestones(
        api, "DCFS", [{"ref": r, "milestone_id": "m1", **item} for r in (ref("r0"), ref("r1"))]
    )
    body = encodings(0, removals=[ref("r0")])
    removed = api.post(
        "/v1/agencies/DCFS/encodings/batches", body, api.as_("DCFS"), key="exit-00001"
    )
    assert removed.json()["removed"] == 1
    # The plan export did not drop r0's milestone; the exit purges it anyway.
    left = {
        (table, r)
        for table, model in (("assignment", Assignment), ("milestone", Milestone))
        for (r,) in api.session.execute(select(table_of(model).c.ref))
    }
    assert left == {("assignment", ref("r1")), ("milestone", ref("r1"))}


@pytest.mark.parametrize(
    ("changes", "status", "reason"),
    [
        ({"epoch": "2025-01"}, 409, "not the hub's current epoch"),
        ({"schema_fingerprint": "cd" * 32}, 409, "schema fingerprint differs"),
    ],
)
def test_wrong_epoch_or_schema_is_refused_before_anything_is_stored(
    api: Api, changes: dict[str, Any], status: int, reason: str
) -> None:
    api.register("DCFS")
    response = api.post(
        "/v1/agencies/DCFS/encodings/batches",
        encodings(5, **changes),
        api.as_("DCFS"),
        key="batch-00001",
    )
    assert response.status_code == status
    assert reason in response.json()["detail"]
    assert stored(api, "DCFS") == 0


def test_node_with_a_different_secret_is_refused_by_its_canary(api: Api) -> None:
    api.register("DCFS", "DOC")
    assert (
        api.post(
            "/v1/agencies/DCFS/encodings/batches", encodings(5), api.as_("DCFS"), key="batch-00001"
        ).status_code
        == 200
    )
    wrong = canonical.b64encode(hashlib.sha256(b"other secret").digest())
    response = api.post(
        "/v1/agencies/DOC/encodings/batches",
        encodings(5, canary=wrong),
        api.as_("DOC"),
        key="batch-00001",
    )
    assert response.status_code == 409
    assert "differently here than at DCFS" in response.json()["detail"]
    assert stored(api, "DOC") == 0
    assert (
        api.post(
            "/v1/agencies/DOC/encodings/batches", encodings(5), api.as_("DOC"), key="batch-00002"
        ).status_code
        == 200
    )


def test_a_bad_record_anywhere_in_the_batch_stores_none_of_it(api: Api) -> None:
    api.register("DCFS")
    body = encodings(10)
    body["upserts"][7]["clk"] = canonical.b64encode(b"short")
    response = api.post(
        "/v1/agencies/DCFS/encodings/batches", body, api.as_("DCFS"), key="batch-00001"
    )
    assert response.status_code == 422
    assert "upserts[7].clk" in response.json()["detail"]
    assert stored(api, "DCFS") == 0


def test_batches_over_the_record_cap_are_refused(api: Api) -> None:
    api.register("DCFS")
    response = api.post(
        "/v1/agencies/DCFS/encodings/batches",
        encodings(api.settings.max_batch_records + 1),
        api.as_("DCFS"),
        key="batch-00001",
    )
    assert response.status_code == 413


def test_only_the_agencys_own_node_uploads(api: Api) -> None:
    api.register("DCFS", "DOC")
    for headers in (api.as_("DOC"), api.as_("DCFS", "cm-1", Role.CASE_MANAGER), api.operator()):
        response = api.post(
            "/v1/agencies/DCFS/encodings/batches", encodings(1), headers, key="batch-00001"
        )
        assert response.status_code == 404
    missing_key = api.post("/v1/agencies/DCFS/encodings/batches", encodings(1), api.as_("DCFS"))
    assert missing_key.status_code == 422


def test_contacts_and_plans_are_sealed_at_rest(api: Api) -> None:
    api.register("DCFS")
    assignments = {
        "upserts": [
            {
                "ref": ref("r1"),
                "case_manager_id": "cm-0042",
                "contact": {
                    "display_name": "Alexandra Case-Worker",
                    "phone": "(217) 555-0199",
                    "email": "a.worker@dcfs.example.gov",
                },
            }
        ]
    }
    assert (
        api.post(
            "/v1/agencies/DCFS/assignments/batches", assignments, api.as_("DCFS"), key="batch-00001"
        ).status_code
        == 200
    )
    milestones = {
        "upserts": [
            {
                "ref": ref("r1"),
                "milestone_id": "m1",
                "goal": "Stable housing by spring",
                "milestone": "Lease signed",
                "status": "in_progress",
                "target_end": "2027-03-01",
            }
        ]
    }
    assert (
        api.post(
            "/v1/agencies/DCFS/milestones/batches", milestones, api.as_("DCFS"), key="batch-00002"
        ).status_code
        == 200
    )
    raw = b"".join(
        bytes(row[0])
        for row in api.session.execute(
            text("SELECT contact FROM assignment UNION ALL SELECT plan FROM milestone")
        )
    )
    for plain in (
        b"Alexandra",
        b"555-0199",
        b"dcfs.example.gov",
        b"Stable housing",
        b"Lease signed",
    ):
        assert plain not in raw
