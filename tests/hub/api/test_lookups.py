"""Intake lookup at the hub: an intake worker's encoding of typed identifiers finds the
programs that serve a matching person (a typo'd intake included), never a stranger,
never the worker's own agency; each naming is an ACCESS entry of purpose `intake`; other
roles are refused, fast askers slowed, and nothing of the encoding is kept."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from consent import parse_leaf
from hub.models import LedgerEntry
from hub.services.ratelimit import QuestionLimiter
from keys import Role, canonical
from tests.hub.api.factories import AGENCIES, CANARY, EPOCH, FINGERPRINT, Api, clk, ref, sync
from tests.pii import dump_database

INTAKE = "in-0003"


@pytest.fixture
def api(api: Api) -> Api:
    api.register(*AGENCIES)
    return api


def _lookup(api: Api, encoding: str, *roles: Role, **changes: Any) -> Any:
    body = {"clk": encoding, "epoch": EPOCH, "schema_fingerprint": FINGERPRINT, **changes}
    return api.client.post(
        "/v1/lookups", json=body, headers=api.as_("DCFS", INTAKE, *(roles or (Role.INTAKE,)))
    )


def _intake_entries(api: Api) -> list[Any]:
    rows = api.session.execute(
        select(col(LedgerEntry.leaf)).order_by(col(LedgerEntry.entry_index))
    ).scalars()
    entries = [parse_leaf(bytes(leaf)).entry for leaf in rows]
    return [e for e in entries if e.type == "ACCESS" and e.purpose == "intake"]


def test_a_typod_intake_names_the_program_that_serves_the_person(api: Api) -> None:
    sync(api, "DOC", "lookup-1", {"doc-x": 5, "doc-y": 6})
    sync(api, "DWD", "lookup-1", {"dwd-z": 7})
    found = _lookup(api, clk(5, seed=9))  # the same person, typed with other typos
    assert found.status_code == 200, found.text
    assert [p["program"] for p in found.json()["programs"]] == ["corrections"]
    assert found.json()["programs"][0]["confidence"] in ("high", "moderate")
    assert set(found.json()) == {
        "decided_at",
        "programs",
        "past_programs",
    }  # no record, contact or plan
    assert found.json()["past_programs"] == []
    stranger = _lookup(api, clk(77))
    assert stranger.json()["programs"] == []


def test_each_naming_is_on_the_ledger_with_its_score_and_no_record_of_the_asker(
    api: Api,
) -> None:
    sync(api, "DOC", "lookup-1", {"doc-x": 5})
    assert _lookup(api, clk(5, seed=9)).json()["programs"]
    (entry,) = _intake_entries(api)
    assert (entry.requester_program, entry.requester_staff) == ("child_welfare", INTAKE)
    assert entry.disclosing_program == "corrections"
    assert entry.data_classes == ["existence"]
    assert entry.requester_record is None
    assert entry.link is None
    assert entry.lookup is not None
    assert entry.lookup.score_bp >= 6500
    _lookup(api, clk(77))
    assert len(_intake_entries(api)) == 1  # a stranger names no one and records nothing


def test_the_workers_own_agency_and_removed_records_are_not_named(api: Api) -> None:
    sync(api, "DCFS", "lookup-1", {"dcfs-x": 5})
    sync(api, "DOC", "lookup-1", {"doc-x": 5})
    assert [p["program"] for p in _lookup(api, clk(5, seed=9)).json()["programs"]] == [
        "corrections"
    ]
    sync(api, "DOC", "lookup-2", {}, removals=["doc-x"])  # the index follows each sync
    assert _lookup(api, clk(5, seed=9)).json()["programs"] == []


@pytest.mark.parametrize(
    "roles", [(Role.CASE_MANAGER,), (Role.SUPERVISOR,), (Role.AGENCY_NODE,)], ids=str
)
def test_only_intake_staff_may_look_a_person_up(api: Api, roles: tuple[Role, ...]) -> None:
    sync(api, "DOC", "lookup-1", {"doc-x": 5})
    assert _lookup(api, clk(5), *roles).status_code == 403
    assert _intake_entries(api) == []


def test_an_intake_worker_asking_faster_than_a_person_is_slowed(api: Api) -> None:
    api.hub.questions = QuestionLimiter(2)
    for _ in range(2):
        assert _lookup(api, clk(77)).status_code == 200
    slowed = _lookup(api, clk(78))
    assert slowed.status_code == 429
    assert slowed.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"epoch": "2020-01"}, 409),
        ({"clk": "AAAA"}, 422),
        ({"clk": "not base64!"}, 422),
    ],
)
def test_an_encoding_the_hub_cannot_compare_is_refused(
    api: Api, changes: dict[str, str], status: int
) -> None:
    assert _lookup(api, clk(5), **changes).status_code == status


def test_the_hub_keeps_nothing_of_the_intake_encoding(api: Api) -> None:
    sync(api, "DOC", "lookup-1", {"doc-x": 5})
    asked = clk(5, seed=9)
    assert _lookup(api, asked).status_code == 200
    stored = dump_database(api.session.connection())
    raw = canonical.b64decode(asked)
    assert asked.encode() not in stored
    assert raw not in stored
    assert raw.hex().encode() not in stored


def test_a_program_that_closed_the_case_is_named_apart_with_its_exit_date(api: Api) -> None:
    sync(api, "DWD", "lookup-5", {"dwd-x": 5})
    body = {
        "epoch": EPOCH,
        "schema_fingerprint": FINGERPRINT,
        "canary_digest": CANARY,
        "upserts": [{"ref": ref("doc-x"), "clk": clk(5), "exited_on": "2025-03-01"}],
    }
    response = api.post("/v1/agencies/DOC/encodings/batches", body, api.as_("DOC"), "exit-00001")
    assert response.status_code == 200, response.text
    found = _lookup(api, clk(5, seed=3)).json()
    assert [p["program"] for p in found["programs"]] == ["family_employment"]
    assert [(p["program"], p["exited_on"]) for p in found["past_programs"]] == [
        ("corrections", "2025-03-01")
    ]
    # The past naming is recorded like the current one.
    assert {e.disclosing_program for e in _intake_entries(api)} == {
        "corrections",
        "family_employment",
    }
