"""What a party probing or attacking "is this client shared?" gets on the three-program
scenario (see test_shared.py): a caller asking faster than a person is slowed, questions
about fabricated records are flagged, a third agency reading the ledger learns no pair it
is not in, and a contact altered at rest is a logged fault, never a wrong answer."""

from __future__ import annotations

import json
import logging

import pytest

from consent import parse_leaf
from hub.models import Assignment, Link
from keys import Role
from tests.hub.api.factories import (
    A,
    Api,
    B,
    C,
    D,
    E,
    access_entries,
    ask_shared,
    grant,
    ref,
)


def test_a_staff_member_asking_faster_than_a_person_is_slowed(
    api: Api, scenario: dict[str, int]
) -> None:
    from hub.services.ratelimit import QuestionLimiter

    api.hub.questions = QuestionLimiter(3)
    for _ in range(3):
        assert ask_shared(api, A).status_code == 200
    slowed = ask_shared(api, ref("probe-1"))  # probing other references counts too
    assert slowed.status_code == 429
    assert int(slowed.headers["retry-after"]) >= 1
    assert slowed.headers["content-type"] == "application/problem+json"
    # Another case manager is not slowed by it.
    assert ask_shared(api, B, "cm-0007", agency="DOC").status_code == 200


def test_a_question_about_a_just_uploaded_or_exactly_copied_record_is_flagged(
    api: Api, scenario: dict[str, int]
) -> None:
    # A (uploaded moments ago by the scenario) is asked about: DOC's and DWD's records
    # were disclosed under a sign of probing; the link to DOC also scores exactly 1.0.
    link = api.session.get(Link, ("DCFS", A, "DOC", B))
    assert link is not None
    link.score = 1.0
    api.session.add(link)
    api.session.flush()
    first = ask_shared(api, A)
    assert first.status_code == 200, first.text
    ask_shared(api, A)  # asked again: flagged once
    flags = api.client.get("/v1/reports/probe-flags", headers=api.operator()).json()
    seen = {(f["kind"], f["disclosing_agency"]) for f in flags}
    assert seen == {("fresh_record", "DOC"), ("fresh_record", "DWD"), ("exact_copy", "DOC")}
    assert all(f["asking_agency"] == "DCFS" and f["asking_ref"] == A for f in flags)
    # DOC's node sees the flags about its own record, not the asking agency's record.
    mine = api.client.get("/v1/agencies/DOC/probe-flags", headers=api.as_("DOC")).json()
    assert {(f["kind"], f["disclosing_ref"]) for f in mine} == {
        ("fresh_record", B),
        ("exact_copy", B),
    }
    assert all(f["asking_ref"] is None for f in mine)
    assert A not in json.dumps(mine)
    assert (
        api.client.get("/v1/agencies/DOC/probe-flags", headers=api.as_("DCFS")).status_code == 404
    )


def test_a_third_agency_reading_the_ledger_learns_no_pair_it_is_not_in(
    api: Api, scenario: dict[str, int]
) -> None:
    """The ledger-graph attack: DJJ, linked to nobody, reads every entry it can after
    DCFS's case manager was shown DOC's and DWD's records."""
    from consent import open_withheld
    from keys import canonical

    api.register("DJJ")
    grant(
        api,
        "DOC",
        subject=E,
        disclosing_program="corrections",
        recipient_classes=["any_linked_program"],
        recipient_programs=[],
    )
    assert ask_shared(api, A).json()["shared"] is True
    api.client.get("/v1/caseload", headers=api.as_("DCFS", "cm-0001", Role.CASE_MANAGER))
    api.checkpoint()
    read = api.client.get(
        "/v1/ledger/entries", params={"start": 0, "limit": 1000}, headers=api.as_("DJJ")
    ).json()
    auditor = api.client.get(
        "/v1/ledger/entries", params={"start": 0, "limit": 1000}, headers=api.operator(Role.AUDITOR)
    ).json()
    assert len(read) == len(auditor)  # every index accounted for
    assert access_entries(api)  # there were disclosures to hide
    pairs = set()
    for item in read:
        if item["leaf"] is None:
            note = open_withheld(item["withheld"], api.log.verifier)  # hub-signed, nothing more
            assert set(item["withheld"]) == {"index", "leaf_hash", "type", "ends", "signature"}
            assert note.entry_type != "KEY"
            continue
        entry = parse_leaf(canonical.b64decode(item["leaf"])).entry
        assert entry.type in ("KEY", "POLICY", "GRANT"), entry.type
        if entry.type == "GRANT":
            assert entry.grant.recipient_classes  # only grants to "any linked program"
            refs = {entry.grant.subject}
            pairs.add(frozenset(refs))
    assert all(len(p) == 1 for p in pairs)  # no entry DJJ reads ties two records together
    text = json.dumps(read)
    for record in (A, C, D):  # DCFS's and DWD's records: named in no entry DJJ reads
        assert record not in text


def test_a_contact_altered_at_rest_is_a_logged_server_fault_not_a_wrong_answer(
    api: Api, scenario: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    row = api.session.get(Assignment, ("DOC", B))
    assert row is not None
    row.contact = row.contact[:-1] + bytes([row.contact[-1] ^ 1])
    api.session.flush()
    with caplog.at_level(logging.CRITICAL, logger="pprl.hub"):
        response = ask_shared(api, A)
    assert response.status_code == 500
    assert "Reyes" not in response.text
    assert "detail" not in response.json()
    assert any("SealedValueAltered" in r.getMessage() for r in caplog.records)
