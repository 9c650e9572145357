"""Append rules: what the hub refuses to add, and what replay derives."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent import EntryRejected, consent_state, format_timestamp
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


def test_key_rotation_by_the_agency_itself() -> None:
    b = LedgerBuilder()
    new = AgencyIdentity.create("DCFS", ("child_welfare",)).public_keys()
    b.add(
        b.agency_entry(
            "DCFS",
            type="KEY",
            action="add_key",
            agency_id="DCFS",
            keys=[
                {
                    "key_id": new.signing_key_id,
                    "kind": "ed25519",
                    "public_key": new.signing_public_key,
                }
            ],
        )
    )
    assert b.state.registry.agency("DCFS").key(new.signing_key_id) is not None


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
