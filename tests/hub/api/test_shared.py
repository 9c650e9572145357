""" "Is this client shared?" on a three-program scenario.

Client X is served by child welfare (DCFS, record `a`, case manager cm-0001), corrections
(DOC, record `b`) and family employment (DWD, record `c`). Corrections consented to
existence, contact and plan; family employment to existence and contact only. DCFS's
record `d` is linked to corrections' record `e` only by a link in the review band.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from consent import check_decision_proof, parse_leaf
from consent.decision import Decision
from hub.disclosure import Asker
from hub.models import LedgerEntry, LinkageRun
from hub.services.sharing import shared_answer
from keys import Role
from tests.hub.api.factories import (
    A,
    Api,
    B,
    C,
    D,
    access_entries,
    ask_shared,
    grant,
    link,
    ref,
    required_housing,
    revoke,
)


def _by_program(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    _only_consented(body)
    return {p["program"]: p for p in body["programs"]}


def _only_consented(body: dict[str, Any]) -> None:
    """No field of a level that was not allowed, anywhere in the answer."""
    for program in body["programs"]:
        assert program["existence"]["allowed"]
        if not program["contact"]["allowed"]:
            assert program["contact_details"] is None
        if not program["plan"]["allowed"]:
            assert program["milestones"] is None
            assert all(m["program"] != program["program"] for m in body["plan"])
    named = {p["program"] for p in body["programs"]} | {"child_welfare"}
    assert {m["program"] for m in body["plan"]} <= named


def test_the_assigned_case_manager_sees_exactly_what_each_program_consented_to(
    api: Api, scenario: dict[str, int]
) -> None:
    response = ask_shared(api, A)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["shared"] is True
    programs = _by_program(body)
    assert set(programs) == {"corrections", "family_employment"}

    doc = programs["corrections"]
    assert doc["contact"]["allowed"]
    assert doc["plan"]["allowed"]
    assert doc["contact_details"] == {
        "case_manager_id": "cm-0007",
        "display_name": "Officer Reyes",
        "phone": "(555) 010-0007",
        "email": "reyes@doc.example.gov",
        "office": None,
    }
    assert [m["milestone_id"] for m in doc["milestones"]] == ["p1", "p2"]

    dwd = programs["family_employment"]
    assert dwd["contact"]["allowed"]
    assert dwd["contact_details"]["display_name"] == "Coach Patel"
    assert dwd["plan"]["allowed"] is False
    assert dwd["milestones"] is None
    assert "does not cover plan details" in dwd["plan"]["reason"]
    assert any("family_employment" in w and "plan" in w for w in body["withheld"])
    # Nothing of DWD's plan leaks through the combined view either.
    assert "w1" not in {m["milestone_id"] for m in body["plan"]}
    assert "Job readiness workshop" not in response.text


def test_the_combined_plan_is_in_priority_order_and_flags_conflicts(
    api: Api, scenario: dict[str, int]
) -> None:
    body = ask_shared(api, A).json()
    # basic needs (housing) before freedom (probation) before self-reliance (job training)
    assert [m["milestone_id"] for m in body["plan"]] == ["m1", "p1", "p2"]
    # child welfare's lease (housing) and corrections' report (supervision) are due five
    # days apart, but serve different needs at no stated hours: no conflict.
    assert [c["kind"] for c in body["conflicts"]] == []

    # Corrections adds a condition of supervision about housing, due near the lease.
    required_housing(api)
    body = ask_shared(api, A).json()
    assert [m["milestone_id"] for m in body["plan"]] == ["p3", "m1", "p1", "p2"]
    p3 = body["plan"][0]
    assert p3["non_negotiable"] is True
    assert p3["mandate"] == "condition_of_supervision"
    conflict = body["conflicts"][0]
    assert conflict["kind"] == "competing_deadlines"
    assert conflict["non_negotiable"] is True
    assert {m["program"] for m in conflict["milestones"]} == {"child_welfare", "corrections"}
    assert "corrections (condition of supervision)" in conflict["detail"]


def test_every_disclosure_has_exactly_one_access_entry_and_a_checkable_proof(
    api: Api, scenario: dict[str, int]
) -> None:
    before = len(access_entries(api))
    body = ask_shared(api, A).json()
    entries = access_entries(api)[before:]
    # agreement covers existence; contact (and plan) rest on each program's grant
    by_index: dict[int, set[tuple[str, str]]] = {}
    for program in body["programs"]:
        for level in ("existence", "contact", "plan"):
            shown = program[level]
            if shown["allowed"]:
                assert shown["access_entry"] is not None
                by_index.setdefault(shown["access_entry"], set()).add((program["program"], level))
            else:
                assert shown["access_entry"] is None
    assert len(entries) == len(by_index) == 4
    ledger = api.hub.ledger
    assert ledger is not None
    for index, shown in by_index.items():
        leaf = api.session.get(LedgerEntry, index)
        assert leaf is not None
        entry = parse_leaf(bytes(leaf.leaf)).entry
        assert entry.type == "ACCESS"
        assert {(entry.disclosing_program, c) for c in entry.data_classes} == shown
        assert entry.requester_staff == "cm-0001"
        assert entry.requester_record == A
    doc = _by_program(body)["corrections"]["contact"]
    assert doc["basis"] == "consent"
    assert doc["grant"]["index"] == scenario["doc"]
    proven = check_decision_proof(
        Decision(
            allowed=True,
            data_class="contact",
            reason="",
            basis="consent",
            grant_index=doc["grant"]["index"],
            grant_leaf_hash=bytes.fromhex(doc["grant"]["leaf_hash"]),
            state_size=0,
            checkpoint_note=body["checkpoint"],
            inclusion_proof=tuple(bytes.fromhex(h) for h in doc["grant"]["inclusion_proof"]),
        ),
        ledger.log_key.verifier,
    )
    assert proven.size > scenario["doc"]


def test_after_a_revoke_the_next_answer_withholds(api: Api, scenario: dict[str, int]) -> None:
    assert _by_program(ask_shared(api, A).json())["corrections"]["contact"]["allowed"]
    revoke(api, "DOC", scenario["doc"])
    body = ask_shared(api, A).json()
    doc = _by_program(body)["corrections"]
    # existence still by the agreement; nothing the revoked grant covered
    assert doc["existence"]["basis"] == "agreement"
    assert not doc["contact"]["allowed"]
    assert doc["contact_details"] is None
    assert not doc["plan"]["allowed"]
    assert doc["milestones"] is None
    assert "revoked" in doc["contact"]["reason"]
    assert "Officer Reyes" not in json.dumps(body)


def test_after_expiry_the_answer_withholds(api: Api, scenario: dict[str, int]) -> None:
    later = datetime.now(UTC) + timedelta(days=366)
    answer = shared_answer(api.disclosure, api.session, Asker("DCFS", "cm-0001"), A, at=later)
    by_program = {p.program: p for p in answer.programs}
    assert not by_program["corrections"].levels["contact"].allowed
    assert "expired" in by_program["corrections"].levels["contact"].reason
    assert by_program["corrections"].contact is None
    assert by_program["corrections"].plan is None


def test_under_a_consent_policy_a_program_without_consent_is_not_even_named(
    api: Api, scenario: dict[str, int]
) -> None:
    api.hub.settings = api.hub.settings.model_copy(update={"existence_policy": "consent"})
    revoke(api, "DWD", scenario["dwd"])
    before = len(access_entries(api))
    body = ask_shared(api, A).json()
    assert set(_by_program(body)) == {"corrections"}
    assert "family_employment" not in json.dumps(body)
    assert _by_program(body)["corrections"]["existence"]["basis"] == "consent"
    # existence, contact and plan all on DOC's one grant: one ACCESS entry
    assert len(access_entries(api)) - before == 1


def test_links_in_the_review_band_are_not_disclosed(api: Api, scenario: dict[str, int]) -> None:
    before = len(access_entries(api))
    body = ask_shared(api, D).json()
    assert body["shared"] is False
    assert body["programs"] == []
    assert len(access_entries(api)) == before


def test_a_supervisor_in_the_chain_may_ask_and_the_ledger_says_why(
    api: Api, scenario: dict[str, int]
) -> None:
    missing = ask_shared(api, ref("no-such-record"), "sup-0001", Role.SUPERVISOR)
    # No org structure yet: no supervisor's team is guessed.
    before = ask_shared(api, A, "sup-0001", Role.SUPERVISOR)
    assert (before.status_code, before.json()["title"]) == (404, missing.json()["title"])
    org = {
        "staff": [
            {"staff_id": "cm-0001", "supervisor_id": "sup-0001", "office": "North"},
            {"staff_id": "sup-0001", "supervisor_id": "mgr-0001"},
            {"staff_id": "mgr-0001"},
            {"staff_id": "sup-0002", "supervisor_id": "mgr-0001"},
        ]
    }
    put = api.client.put("/v1/agencies/DCFS/staff", json=org, headers=api.as_("DCFS"))
    assert put.status_code == 200, put.text
    assert put.json()["staff"] == 4
    # The case manager's supervisor and the manager above them; not a peer supervisor.
    size = len(access_entries(api))
    assert ask_shared(api, A, "sup-0001", Role.SUPERVISOR).status_code == 200
    assert ask_shared(api, A, "mgr-0001", Role.SUPERVISOR).status_code == 200
    peer = ask_shared(api, A, "sup-0002", Role.SUPERVISOR)
    assert peer.status_code == 404
    assert peer.json()["title"] == missing.json()["title"]
    assert ask_shared(api, A, "node-1", Role.AGENCY_NODE).status_code == 404
    recorded = access_entries(api)[size:]
    assert recorded
    assert {(e.requester_staff, e.purpose) for e in recorded} == {
        ("sup-0001", "supervision"),
        ("mgr-0001", "supervision"),
    }
    # The case manager's own question carries no purpose: it is their own client.
    size = len(access_entries(api))
    ask_shared(api, A)
    assert {e.purpose for e in access_entries(api)[size:]} == {None}


def test_an_org_structure_with_a_loop_or_an_unknown_supervisor_is_refused(api: Api) -> None:
    api.register("DCFS")
    for staff, said in (
        (
            [
                {"staff_id": "cm-1", "supervisor_id": "cm-2"},
                {"staff_id": "cm-2", "supervisor_id": "cm-1"},
            ],
            "in a reporting loop",
        ),
        ([{"staff_id": "cm-1", "supervisor_id": "cm-9"}], "not in the list: cm-9"),
        ([{"staff_id": "cm-1"}, {"staff_id": "cm-1"}], "listed twice: cm-1"),
    ):
        response = api.client.put(
            "/v1/agencies/DCFS/staff", json={"staff": staff}, headers=api.as_("DCFS")
        )
        assert response.status_code == 422
        assert said in response.text


def test_anyone_else_gets_the_same_answer_as_for_a_record_that_does_not_exist(
    api: Api, scenario: dict[str, int]
) -> None:
    def strip(response: Any) -> tuple[int, dict[str, Any], str]:
        body = {k: v for k, v in response.json().items() if k != "instance"}
        return response.status_code, body, response.headers["content-type"]

    missing = strip(ask_shared(api, ref("no-such-record")))
    assert missing[0] == 404
    assert strip(ask_shared(api, A, "cm-0002")) == missing  # same agency, not assigned
    assert strip(ask_shared(api, B)) == missing  # another agency's record, by its reference
    assert strip(ask_shared(api, B, "cm-0007", agency="DOC")) != missing  # its own case manager
    assert strip(ask_shared(api, A, "cm-0001", agency="DOC")) == missing  # right name, wrong agency


def test_the_caseload_flags_shared_clients_and_records_each_disclosure_once(
    api: Api, scenario: dict[str, int]
) -> None:
    headers = api.as_("DCFS", "cm-0001", Role.CASE_MANAGER)
    before = len(access_entries(api))
    first = api.client.get("/v1/caseload", headers=headers)
    assert first.status_code == 200, first.text
    clients = {c["record_ref"]: c for c in first.json()["clients"]}
    assert set(clients) == {A, D}
    assert clients[A]["shared"] is True
    assert clients[A]["programs"] == ["corrections", "family_employment"]
    assert clients[D]["shared"] is False  # only a link in the review band
    assert "a new or changed match" in clients[A]["changes"]
    assert first.json()["previous_visit"] is None
    # two existence disclosures (one per program), each recorded once
    assert len(access_entries(api)) - before == 2
    second = api.client.get("/v1/caseload", headers=headers).json()
    assert second["previous_visit"] is not None
    assert all(c["changes"] == [] for c in second["clients"])
    assert len(access_entries(api)) - before == 2
    # another case manager's caseload holds none of these clients
    other = api.client.get("/v1/caseload", headers=api.as_("DCFS", "cm-0002", Role.CASE_MANAGER))
    assert other.json()["clients"] == []


def test_a_link_under_the_disclosure_floor_is_never_disclosed_whatever_the_run_said(
    api: Api, scenario: dict[str, int]
) -> None:
    # A run at an absurd threshold linked DCFS's D to DWD's C at 0.59 (not in review).
    run = api.session.execute(select(LinkageRun)).scalars().first()
    assert run is not None
    assert run.run_id is not None
    link(api, run.run_id, 2, [("DCFS", D, "DWD", C, 0.59, False)])
    grant(
        api,
        "DWD",
        subject=C,
        disclosing_program="family_employment",
        recipient_programs=["child_welfare"],
        data_classes=["existence", "contact"],
    )
    body = ask_shared(api, D).json()
    assert body["shared"] is False
    assert "Coach Patel" not in json.dumps(body)


def test_each_disclosure_names_its_link_and_the_floor_is_on_the_ledger(
    api: Api, scenario: dict[str, int]
) -> None:
    run = api.session.execute(select(LinkageRun)).scalars().first()
    assert run is not None
    run.threshold = 0.73
    api.session.add(run)
    api.session.flush()
    body = ask_shared(api, A).json()
    programs = _by_program(body)
    assert programs["corrections"]["confidence"] == "high"  # 0.93
    assert programs["family_employment"]["confidence"] == "moderate"  # 0.88
    rows = api.session.execute(
        select(col(LedgerEntry.leaf)).order_by(col(LedgerEntry.entry_index))
    ).scalars()
    entries = [parse_leaf(bytes(leaf)).entry for leaf in rows]
    policies = [e for e in entries if e.type == "POLICY"]
    assert [(p.disclosure_floor_bp, p.min_precision_bp) for p in policies] == [(6500, 9500)]
    links = {e.disclosing_program: e.link for e in entries if e.type == "ACCESS"}
    assert links["corrections"] is not None
    assert (links["corrections"].run_id, links["corrections"].threshold_bp) == (run.run_id, 7300)
    assert links["corrections"].score_bp == 9300
    assert links["family_employment"] is not None
    assert links["family_employment"].score_bp == 8800
    # A second answer records no second policy entry.
    ask_shared(api, A)
    rows = api.session.execute(select(col(LedgerEntry.leaf))).scalars()
    assert sum(b'"type":"POLICY"' in bytes(leaf) for leaf in rows) == 1


def test_the_same_disclosure_again_within_the_window_adds_no_entry(
    api: Api, scenario: dict[str, int]
) -> None:
    first = ask_shared(api, A).json()
    count = len(access_entries(api))
    again = ask_shared(api, A).json()
    assert len(access_entries(api)) == count  # covered by the first view's entries
    for one, two in zip(first["programs"], again["programs"], strict=True):
        assert one["contact"]["access_entry"] == two["contact"]["access_entry"]
    # Every entry is distinct even where the disclosures are alike: a random access_id.
    ids = [e.access_id for e in access_entries(api)]
    assert None not in ids
    assert len(set(ids)) == len(ids)
    # After the window, the view is recorded again.
    later = datetime.now(UTC) + timedelta(seconds=api.settings.access_dedup_seconds + 1)
    shared_answer(api.disclosure, api.session, Asker("DCFS", "cm-0001"), A, at=later)
    assert len(access_entries(api)) > count


def test_a_grant_for_the_case_manager_only_does_not_reach_their_supervisors(
    api: Api, scenario: dict[str, int]
) -> None:
    org = {
        "staff": [{"staff_id": "cm-0001", "supervisor_id": "sup-0001"}, {"staff_id": "sup-0001"}]
    }
    assert api.client.put("/v1/agencies/DCFS/staff", json=org, headers=api.as_("DCFS")).is_success
    grant(
        api,
        "DWD",
        subject=C,
        disclosing_program="family_employment",
        recipient_programs=["child_welfare"],
        recipient_staff="assigned_case_manager",
        data_classes=["existence", "contact", "plan"],
    )
    api.checkpoint()
    mine = _by_program(ask_shared(api, A).json())["family_employment"]
    assert mine["plan"]["allowed"] is True  # the case manager: covered
    theirs = _by_program(ask_shared(api, A, "sup-0001", Role.SUPERVISOR).json())
    dwd = theirs["family_employment"]
    # The supervisor still sees the earlier grant's contact, but not the plan, which only
    # the case-manager-only grant covers.
    assert dwd["contact"]["allowed"] is True
    assert dwd["plan"]["allowed"] is False
    assert dwd["plan"]["why"] == "case_manager_only"
    assert "case manager only" in dwd["plan"]["reason"]
    assert dwd["milestones"] is None
