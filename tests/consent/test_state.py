"""Append rules: what the hub refuses to add, and what replay derives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from consent import (
    EntryInvalid,
    EntryRejected,
    consent_state,
    format_timestamp,
    key_request,
    public_key_fields,
)
from keys import AgencyIdentity
from tests.factories import T0, LedgerBuilder, grant_terms, record_ref


def test_replay_of_the_leaves_reproduces_the_state() -> None:
    b = LedgerBuilder()
    g = b.grant()
    b.revoke(g)
    replayed = consent_state(b.leaves, b.log.private_key.public_key())
    assert replayed.size == b.state.size
    assert replayed.grants[g].ended_because == "revoked"
    assert replayed.program_owner == {
        "child_welfare": "DCFS",
        "juvenile_justice": "DJJ",
        "corrections": "DOC",
    }


def test_agency_cannot_grant_for_another_agencys_program() -> None:
    b = LedgerBuilder()
    with pytest.raises(EntryRejected, match="disclosing_program is not a program of agency DOC"):
        b.add(b.agency_entry("DOC", type="GRANT", grant=grant_terms()))


def test_recipient_program_must_be_registered() -> None:
    b = LedgerBuilder()
    with pytest.raises(EntryRejected, match=r"recipient_programs\[1\] is not a registered"):
        b.grant(recipient_programs=["corrections", "nowhere"])


def test_replayed_consent_entry_is_refused() -> None:
    b = LedgerBuilder()
    g = b.grant()
    again = b.agency_entry("DCFS", type="GRANT", grant=b.state.grants[g].terms.model_dump())
    with pytest.raises(EntryRejected, match="consent_id was already used"):
        b.add(again)


def test_only_the_granting_agency_can_revoke_and_only_once() -> None:
    b = LedgerBuilder()
    g = b.grant()
    with pytest.raises(EntryRejected, match="only the agency that recorded a grant"):
        b.revoke(g, agency="DOC")
    b.revoke(g)
    with pytest.raises(EntryRejected, match="already ended"):
        b.revoke(g)


def test_revoke_must_name_the_grant_by_its_exact_leaf_hash() -> None:
    b = LedgerBuilder()
    g = b.grant()
    entry = b.agency_entry(
        "DCFS",
        type="REVOKE",
        revokes={"index": g, "leaf_hash": "0" * 64},
        consent_id=b.state.grants[g].terms.consent_id,
        reason="client_request",
    )
    with pytest.raises(EntryRejected, match="not a grant with that leaf hash"):
        b.add(entry)


def test_supersede_ends_the_old_grant_and_starts_the_new_one() -> None:
    b = LedgerBuilder()
    g = b.grant()
    new = b.add(
        b.agency_entry(
            "DCFS",
            type="SUPERSEDE",
            replaces=b.ref(g),
            grant=grant_terms(data_classes=["existence", "contact", "plan"]),
        )
    )
    assert b.state.grants[g].ended_because == "superseded"
    assert b.state.grants[new].live_at_index(b.state.size)


def test_entry_signed_by_an_unregistered_key_is_refused() -> None:
    b = LedgerBuilder()
    b.ids["DCFS"] = AgencyIdentity.create("DCFS", ("child_welfare",))
    with pytest.raises(EntryRejected, match="is not a signing key of agency DCFS"):
        b.grant()


def test_entry_signed_by_a_revoked_key_is_refused() -> None:
    b = LedgerBuilder()
    kid = b.ids["DCFS"].signing_key_id
    b.add(b.hub_entry(type="KEY", action="revoke_key", agency_id="DCFS", revoked_key_id=kid))
    with pytest.raises(EntryRejected, match="was revoked"):
        b.grant()


def test_forged_signature_is_refused() -> None:
    b = LedgerBuilder()
    signed = b.agency_entry("DCFS", type="GRANT", grant=grant_terms())
    forged = type(signed)(signed.entry, signed.entry_bytes, bytes(64))
    with pytest.raises(EntryRejected, match="signature does not verify"):
        b.add(forged)


def _new_keys(agency: str = "DCFS") -> tuple[AgencyIdentity, list[dict[str, Any]]]:
    identity = AgencyIdentity.create(agency, ("child_welfare",))
    return identity, public_key_fields(identity.public_keys())


def test_an_agency_cannot_add_a_key_on_its_own_signature() -> None:
    b = LedgerBuilder()
    _, keys = _new_keys()
    with pytest.raises(EntryRejected, match="add_key is recorded by the hub"):
        b.add(b.agency_entry("DCFS", **key_request(b.ids["DCFS"], "DCFS", keys, T0)))


def test_the_hub_adds_a_key_the_agency_approved_with_a_key_it_holds() -> None:
    b = LedgerBuilder()
    new, keys = _new_keys()
    b.add(b.hub_entry(**key_request(b.ids["DCFS"], "DCFS", keys, T0)))
    assert b.state.registry.agency("DCFS").key(new.signing_key_id) is not None
    # The new key now signs for the agency.
    b.ids["DCFS"] = new
    b.grant(made_at=format_timestamp(T0 + timedelta(minutes=1)))


def test_an_approval_by_another_agency_a_stale_request_or_a_bad_signature_is_refused() -> None:
    b = LedgerBuilder()
    _, keys = _new_keys()
    by_doc = key_request(b.ids["DOC"], "DCFS", keys, T0)
    with pytest.raises(EntryRejected, match="is not a signing key of agency DCFS"):
        b.add(b.hub_entry(**by_doc))
    stale = key_request(b.ids["DCFS"], "DCFS", keys, T0 - timedelta(days=40))
    with pytest.raises(EntryRejected, match="too old"):
        b.add(b.hub_entry(**stale))
    forged = key_request(b.ids["DCFS"], "DCFS", keys, T0)
    forged["keys"] = _new_keys()[1]  # the approval was for other keys
    with pytest.raises(EntryRejected, match="approval does not verify"):
        b.add(b.hub_entry(**forged))


def test_a_compromised_key_takes_the_keys_it_approved_and_their_statements_with_it() -> None:
    b = LedgerBuilder()
    stolen = b.ids["DCFS"]
    honest = b.grant(made_at=format_timestamp(T0 - timedelta(hours=3)))
    # The thief has the operator approve a key of theirs, then a grandchild of it.
    thief, keys = _new_keys()
    b.add(b.hub_entry(**key_request(stolen, "DCFS", keys, T0), made_at=format_timestamp(T0)))
    second, more = _new_keys()
    later = T0 + timedelta(minutes=5)
    b.add(b.hub_entry(**key_request(thief, "DCFS", more, later), made_at=format_timestamp(later)))
    b.ids["DCFS"] = second
    forged = b.grant(made_at=format_timestamp(later + timedelta(minutes=1)))
    b.ids["DCFS"] = stolen
    b.add(
        b.hub_entry(
            type="KEY",
            action="revoke_key",
            agency_id="DCFS",
            revoked_key_id=stolen.signing_key_id,
            compromised_since=format_timestamp(T0 - timedelta(hours=1)),
            made_at=format_timestamp(T0 + timedelta(hours=1)),
        )
    )
    record = b.state.registry.agency("DCFS")
    for identity in (thief, second):
        key = record.key(identity.signing_key_id)
        assert key is not None
        assert key.revoked_at == key.valid_from  # never trustworthy
    assert b.state.grants[forged].ended_because == "a compromised key approved its signing key"
    assert b.state.grants[honest].ended_at_index is None  # signed before the leak


def test_the_operator_re_keys_an_agency_only_once_it_has_lost_every_signing_key() -> None:
    b = LedgerBuilder()
    new, keys = _new_keys()
    recover = {
        "type": "KEY",
        "action": "recover_agency",
        "agency_id": "DCFS",
        "keys": keys,
        "incident": "INC-2026-0042",
    }
    with pytest.raises(EntryRejected, match="still holds a signing key"):
        b.add(b.hub_entry(**recover))
    b.add(
        b.hub_entry(
            type="KEY",
            action="revoke_key",
            agency_id="DCFS",
            revoked_key_id=b.ids["DCFS"].signing_key_id,
        )
    )
    b.add(b.hub_entry(**recover, made_at=format_timestamp(T0 + timedelta(minutes=1))))
    b.ids["DCFS"] = new
    b.grant(made_at=format_timestamp(T0 + timedelta(minutes=2)))


def test_key_compromise_ends_grants_signed_after_the_leak() -> None:
    b = LedgerBuilder()
    before = b.grant(made_at=format_timestamp(T0 - timedelta(hours=2)))
    after = b.grant(made_at=format_timestamp(T0))
    b.add(
        b.hub_entry(
            type="KEY",
            action="revoke_key",
            agency_id="DCFS",
            revoked_key_id=b.ids["DCFS"].signing_key_id,
            compromised_since=format_timestamp(T0 - timedelta(hours=1)),
            made_at=format_timestamp(T0 + timedelta(hours=1)),
        )
    )
    assert b.state.grants[before].ended_at_index is None
    assert b.state.grants[after].ended_because == "its signing key was compromised"


def test_agency_cannot_record_access_entries() -> None:
    b = LedgerBuilder()
    g = b.grant()
    entry = b.agency_entry(
        "DOC",
        type="ACCESS",
        basis="consent",
        grant=b.ref(g),
        disclosing_program="child_welfare",
        subject=record_ref("client-1"),
        requester_program="corrections",
        requester_staff="cm-77",
        requester_record=record_ref("doc-client"),
        data_classes=["contact"],
        checkpoint_size=g + 1,
    )
    with pytest.raises(EntryRejected, match="only the hub records ACCESS"):
        b.add(entry)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"data_classes": ["plan"]}, "did not allow"),
        ({"requester_program": "juvenile_justice"}, "did not allow"),
        ({"subject": record_ref("someone else")}, "another record"),
    ],
)
def test_access_must_be_allowed_by_the_grant_it_cites(
    changes: dict[str, object], match: str
) -> None:
    b = LedgerBuilder()
    g = b.grant()
    fields: dict[str, object] = {
        "type": "ACCESS",
        "basis": "consent",
        "grant": b.ref(g),
        "disclosing_program": "child_welfare",
        "subject": record_ref("client-1"),
        "requester_program": "corrections",
        "requester_staff": "cm-77",
        "requester_record": record_ref("doc-client"),
        "data_classes": ["contact"],
        "checkpoint_size": g + 1,
    }
    b.add(b.hub_entry(**fields))  # the allowed one goes in
    with pytest.raises(EntryRejected, match=match):
        b.add(b.hub_entry(**{**fields, **changes}))


def _policy(b: LedgerBuilder, floor_bp: int = 7000) -> int:
    return b.add(b.hub_entry(type="POLICY", disclosure_floor_bp=floor_bp, min_precision_bp=9500))


def _link(score_bp: int, confirmed: bool = False) -> dict[str, Any]:
    return {
        "run_id": 3,
        "threshold_bp": 7300,
        "score_bp": score_bp,
        "confirmed_in_review": confirmed,
    }


def test_once_a_floor_is_on_the_ledger_no_disclosure_under_it_is_recorded() -> None:
    b = LedgerBuilder()
    g = b.grant()
    b.access(g)  # before any policy: accepted as before
    _policy(b)
    with pytest.raises(EntryRejected, match="must name the link it relied on"):
        b.access(g)
    with pytest.raises(EntryRejected, match=r"scores 0\.5900, under the disclosure floor 0\.70"):
        b.access(g, link=_link(5900))
    b.access(g, link=_link(7000))
    b.access(g, link=_link(5900, confirmed=True))  # both stewards said "same"
    assert b.state.policy is not None
    assert b.state.policy.disclosure_floor_bp == 7000


def test_only_the_hub_sets_the_disclosure_policy_and_not_below_the_hard_limit() -> None:
    b = LedgerBuilder()
    with pytest.raises(EntryRejected, match="only the hub records POLICY entries"):
        b.add(
            b.agency_entry("DCFS", type="POLICY", disclosure_floor_bp=7000, min_precision_bp=9500)
        )
    with pytest.raises(EntryInvalid, match="disclosure_floor_bp"):
        _policy(b, floor_bp=500)


def _intake(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": "ACCESS",
        "purpose": "intake",
        "basis": "agreement",
        "disclosing_program": "child_welfare",
        "subject": record_ref("client-1"),
        "requester_program": "corrections",
        "requester_staff": "in-0003",
        "data_classes": ["existence"],
        "checkpoint_size": 1,
        "lookup": {"score_bp": 9100},
    }
    return {**fields, **changes}


def test_an_intake_question_is_recorded_with_its_score_and_no_record_of_the_asker() -> None:
    b = LedgerBuilder()
    _policy(b)
    b.add(b.hub_entry(**_intake()))
    with pytest.raises(EntryRejected, match=r"intake lookup scores 0\.6900, under the disclosure"):
        b.add(b.hub_entry(**_intake(lookup={"score_bp": 6900})))


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"lookup": None}, "names the score it relied on"),
        ({"requester_record": record_ref("doc-client")}, "names no requester record"),
        ({"link": _link(9100)}, "names no requester record and no link"),
        ({"data_classes": ["existence", "contact"]}, "existence only"),
        ({"purpose": None}, "names that record, and no lookup"),
    ],
)
def test_an_intake_question_discloses_existence_only_and_says_so(
    changes: dict[str, Any], match: str
) -> None:
    fields = {k: v for k, v in _intake(**changes).items() if v is not None}
    with pytest.raises(EntryInvalid, match=match):
        LedgerBuilder().hub_entry(**fields)


def test_the_ledger_refuses_a_supervisors_disclosure_under_a_case_manager_only_grant() -> None:
    b = LedgerBuilder()
    g = b.grant(recipient_staff="assigned_case_manager")
    b.access(g)  # the case manager's own question: fine
    with pytest.raises(EntryRejected, match="did not allow this disclosure"):
        b.access(g, purpose="supervision", requester_staff="sup-0001")
    open_grant = b.grant(subject=record_ref("client-1"), recipient_staff="chain_of_command")
    b.access(open_grant, purpose="supervision", requester_staff="sup-0001")
