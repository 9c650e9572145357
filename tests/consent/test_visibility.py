"""Who reads which ledger entry: an agency only what it is a party to."""

from __future__ import annotations

import pytest

from consent import ProofInvalid, audience, open_withheld, withhold
from consent.leaves import parse_leaf
from tests.factories import LedgerBuilder


def test_parties_of_each_kind_of_entry() -> None:
    b = LedgerBuilder()  # DCFS child_welfare, DJJ juvenile_justice, DOC corrections
    named = b.grant()  # DCFS -> corrections
    to_any = b.grant(recipient_programs=[], recipient_classes=["any_linked_program"])
    shown = b.access(named)
    revoked = b.revoke(named)

    def who(index: int) -> frozenset[str] | None:
        return audience(parse_leaf(b.leaves[index]).entry, b.state)

    assert who(0) is None  # a KEY entry: the registry is public
    assert who(named) == frozenset({"DCFS", "DOC"})
    assert who(to_any) is None  # names no other party
    assert who(shown) == frozenset({"DCFS", "DOC"})
    assert who(revoked) == frozenset({"DCFS", "DOC"})


def test_a_third_agency_reads_only_signed_notes_for_entries_between_others() -> None:
    b = LedgerBuilder()
    g = b.grant()
    b.access(g)
    b.revoke(g)
    for item in b.read_as("DJJ", start=3):
        assert "leaf" not in item
        note = open_withheld(item["withheld"], b.log.verifier)
        assert note.leaf_hash == b.tree.leaf_hash_at(item["index"])
    types = [item["withheld"]["type"] for item in b.read_as("DJJ", start=3)]
    assert types == ["GRANT", "ACCESS", "REVOKE"]
    assert b.read_as("DJJ", start=5)[0]["withheld"]["ends"] == g
    # The parties and an auditor read the entries themselves.
    assert all("leaf" in item for item in b.read_as("DOC", start=3))
    assert all("leaf" in item for item in b.read_as(None))


def test_a_withheld_note_not_signed_by_the_hub_or_altered_is_refused() -> None:
    b = LedgerBuilder()
    g = b.grant()
    note = withhold(g, parse_leaf(b.leaves[g]), b.log).to_json()
    with pytest.raises(ProofInvalid, match="not signed by the hub"):
        open_withheld({**note, "type": "ACCESS"}, b.log.verifier)
    forged = withhold(g, parse_leaf(b.leaves[g]), LedgerBuilder().log).to_json()
    with pytest.raises(ProofInvalid, match="not signed by the hub"):
        open_withheld(forged, b.log.verifier)
    with pytest.raises(ProofInvalid, match="malformed"):
        open_withheld({**note, "ends": g + 1}, b.log.verifier)
