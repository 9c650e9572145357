"""A node's own view of the ledger: witnessing, monitoring and checking cited grants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from consent import (
    Frontier,
    LedgerView,
    ViewItem,
    WitnessAlarm,
    open_checkpoint,
    withhold,
)
from consent.leaves import parse_leaf
from tests.factories import T0, LedgerBuilder, record_ref

CLIENT = record_ref("client-1")


def _view(b: LedgerBuilder, agency: str) -> tuple[LedgerView, list[ViewItem]]:
    view = LedgerView(b.log.verifier)
    view.observe(b.checkpoint(), [])
    kept = [k for item in b.read_as(agency) if (k := view.accept(item)) is not None]
    view.reconcile(open_checkpoint(b.checkpoint(), b.log.verifier))
    return view, kept


def _check(view: LedgerView, b: LedgerBuilder, index: int, **changes: Any) -> str | None:
    size = len(b.tree)
    args: dict[str, Any] = {
        "index": index,
        "leaf": b.leaves[index],
        "inclusion_proof": b.tree.inclusion_proof(index, size),
        "checkpoint": open_checkpoint(b.checkpoint(size), b.log.verifier),
        "requester_programs": ["corrections"],
        "target_agency": "DCFS",
        "target_program": "child_welfare",
        "target_record": CLIENT,
        "data_class": "contact",
        "at": T0,
    }
    args.update(changes)
    return view.check_grant(**args)


def test_the_named_recipient_sees_a_live_grant_prove_the_disclosure() -> None:
    b = LedgerBuilder()
    g = b.grant()
    b.access(g)
    view, _ = _view(b, "DOC")
    assert _check(view, b, g) is None
    assert "does not cover plan" in (_check(view, b, g, data_class="plan") or "")
    assert "expired" in (_check(view, b, g, at=T0 + timedelta(days=400)) or "")


def test_a_revoked_grant_never_proves_a_disclosure_even_when_the_proof_checks() -> None:
    b = LedgerBuilder()
    g = b.grant()
    b.revoke(g)
    view, _ = _view(b, "DOC")
    # The grant's inclusion proof is genuine; the view saw the REVOKE after it.
    assert _check(view, b, g) == "the client's consent to child_welfare was revoked"


def test_a_cited_key_registration_or_another_records_grant_is_refused() -> None:
    b = LedgerBuilder()
    other = b.grant(subject=record_ref("client-2"))
    view, _ = _view(b, "DOC")
    assert "not a grant this agency was shown" in (_check(view, b, 0) or "")
    assert "about another record" in (_check(view, b, other) or "")
    assert "not a program of" in (_check(view, b, other, target_agency="DJJ") or "")


def test_a_third_agency_cannot_use_a_grant_it_was_never_shown() -> None:
    b = LedgerBuilder()
    g = b.grant()
    view, _ = _view(b, "DJJ")
    assert "not a grant this agency was shown" in (
        _check(view, b, g, requester_programs=["juvenile_justice"]) or ""
    )


def test_a_revocation_withheld_from_a_reader_still_ends_the_grant_it_knew() -> None:
    # DJJ is named by a class grant (so it reads the grant) ...
    b = LedgerBuilder()
    g = b.grant(recipient_programs=[], recipient_classes=["any_linked_program"])
    view, kept = _view(b, "DJJ")
    assert _check(view, b, g, requester_programs=["juvenile_justice"]) is None
    # ... and a revocation shown only as the hub's signed note still counts.
    b.revoke(g)
    item = {
        "index": len(b.leaves) - 1,
        "withheld": withhold(len(b.leaves) - 1, parse_leaf(b.leaves[-1]), b.log).to_json(),
    }
    kept.extend(k for k in [view.accept(item)] if k is not None)
    view.reconcile(open_checkpoint(b.checkpoint(), b.log.verifier))
    assert "was revoked" in (_check(view, b, g, requester_programs=["juvenile_justice"]) or "")
    # A view rebuilt from what it kept decides the same.
    frontier = Frontier(view.size, view.frontier.hashes)
    again = LedgerView.restore(b.log.verifier, kept, frontier, None)
    assert "was revoked" in (_check(again, b, g, requester_programs=["juvenile_justice"]) or "")


def test_a_proxy_cannot_hide_a_revocation() -> None:
    b = LedgerBuilder()
    g = b.grant()
    b.revoke(g)
    items = b.read_as("DOC")
    revoke = items[-1]["index"]
    # Forging the hub's note needs the log key ...
    forged = withhold(revoke, parse_leaf(b.leaves[g]), LedgerBuilder().log).to_json()
    view = LedgerView(b.log.verifier)
    for item in items[:-1]:
        view.accept(item)
    with pytest.raises(WitnessAlarm, match="not signed by the hub") as info:
        view.accept({"index": revoke, "withheld": forged})
    assert info.value.kind == "tampered"
    # ... and leaving the entry out breaks the signed root.
    view = LedgerView(b.log.verifier)
    for item in items[:-1]:
        view.accept(item)
    with pytest.raises(WitnessAlarm, match="do not make up its signed tree"):
        view.reconcile(open_checkpoint(b.checkpoint(), b.log.verifier))


def test_the_view_alarms_on_rollback_and_on_a_second_history() -> None:
    b = LedgerBuilder()
    b.grant()
    view = LedgerView(b.log.verifier)
    view.observe(b.checkpoint(3), [])
    newer = b.checkpoint()
    view.observe(newer, b.tree.consistency_proof(3, len(b.tree)))
    # An older checkpoint is fine with a proof that the witnessed tree extends it.
    view.observe(b.checkpoint(2), b.tree.consistency_proof(2, len(b.tree)))
    with pytest.raises(WitnessAlarm, match="rollback") as info:
        view.observe(b.checkpoint(2), [])
    assert info.value.kind == "rollback"
    fork = LedgerBuilder(log=b.log)
    fork.grant()
    with pytest.raises(WitnessAlarm) as info:
        view.observe(fork.checkpoint(), [])
    assert info.value.kind == "fork"
    assert view.witnessed_note == newer
