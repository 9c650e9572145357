"""The disclosure decision against a small reference model, and its plain-word reasons."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from consent import (
    Decision,
    EntryRejected,
    ProofInvalid,
    attach_proof,
    check_decision_proof,
    disclosure_decision,
    format_timestamp,
)
from consent.fields import DataClass
from tests.factories import T0, LedgerBuilder, record_ref

SUBJECTS = [record_ref(f"client-{i}") for i in range(3)]
REQUESTERS = ["corrections", "juvenile_justice"]
DATA_CLASSES = ["existence", "contact", "plan"]
BASE = T0 - timedelta(days=1)


def _decide(
    b: LedgerBuilder, requester: str, subject: str, data_class: str, at: datetime
) -> Decision:
    return disclosure_decision(
        b.state,
        requester_program=requester,
        target_program="child_welfare",
        target_record=subject,
        data_class=data_class,  # type: ignore[arg-type]  # drawn from DATA_CLASSES
        at=at,
    )


def test_consented_contact_is_allowed_and_names_its_grant() -> None:
    b = LedgerBuilder()
    g = b.grant()
    d = _decide(b, "corrections", record_ref("client-1"), "contact", T0)
    assert d.allowed
    assert (d.grant_index, d.grant_leaf_hash, d.basis) == (g, b.tree.leaf_hash_at(g), "consent")


def test_allowing_decision_carries_a_checkable_proof_of_its_grant() -> None:
    b = LedgerBuilder()
    g = b.grant()
    b.grant(subject=record_ref("client-2"))
    d = attach_proof(
        _decide(b, "corrections", record_ref("client-1"), "contact", T0),
        b.tree,
        b.checkpoint(),
        b.log.verifier,
    )
    assert check_decision_proof(d, b.log.verifier).size == len(b.tree)
    forged = replace(d, grant_leaf_hash=b.tree.leaf_hash_at(g + 1))
    with pytest.raises(ProofInvalid):
        check_decision_proof(forged, b.log.verifier)
    with pytest.raises(ProofInvalid, match="does not include the grant"):
        attach_proof(d, b.tree, b.checkpoint(size=g), b.log.verifier)


def test_expiry_instant_is_a_deny() -> None:
    b = LedgerBuilder()
    g = b.grant()
    end = b.state.grants[g].terms.effective[1]
    assert _decide(
        b, "corrections", record_ref("client-1"), "contact", end - timedelta(seconds=1)
    ).allowed
    d = _decide(b, "corrections", record_ref("client-1"), "contact", end)
    assert not d.allowed
    assert d.reason == f"the client's consent to child_welfare expired at {format_timestamp(end)}"


def test_revocation_wins_from_its_index_on() -> None:
    b = LedgerBuilder()
    g = b.grant()
    b.revoke(g)
    d = _decide(b, "corrections", record_ref("client-1"), "contact", T0)
    assert not d.allowed
    assert d.reason == "the client's consent to child_welfare was revoked"


@pytest.mark.parametrize(
    ("requester", "data_class", "reason"),
    [
        ("corrections", "plan", "does not cover plan details"),
        ("juvenile_justice", "contact", "does not name juvenile_justice"),
    ],
)
def test_withheld_data_says_why(requester: str, data_class: str, reason: str) -> None:
    b = LedgerBuilder()
    b.grant()
    d = _decide(b, requester, record_ref("client-1"), data_class, T0)
    assert not d.allowed
    assert reason in d.reason


def test_no_consent_at_all_says_so() -> None:
    d = _decide(LedgerBuilder(), "corrections", record_ref("client-1"), "plan", T0)
    assert d.reason.startswith("no consent on record from child_welfare for plan details")


def test_existence_may_rest_on_the_agreement_when_policy_says_so() -> None:
    b = LedgerBuilder()

    def decide(data_class: DataClass, by_agreement: bool) -> Decision:
        return disclosure_decision(
            b.state,
            requester_program="corrections",
            target_program="child_welfare",
            target_record=record_ref("client-1"),
            data_class=data_class,
            at=T0,
            existence_by_agreement=by_agreement,
        )

    assert not decide("existence", False).allowed
    d = decide("existence", True)
    assert (d.allowed, d.basis, d.grant_index) == (True, "agreement", None)
    assert not decide("contact", True).allowed


@dataclass
class ModelGrant:
    index: int
    subject: str
    recipients: frozenset[str]
    classes: frozenset[str]
    start: datetime
    end: datetime
    ended: bool = False


@dataclass
class Model:
    grants: list[ModelGrant] = field(default_factory=list)

    def allows(self, requester: str, subject: str, data_class: str, at: datetime) -> int | None:
        hits = [
            g.index
            for g in self.grants
            if not g.ended
            and g.subject == subject
            and requester in g.recipients
            and data_class in g.classes
            and g.start <= at < g.end
        ]
        return max(hits) if hits else None


class DecisionMachine(RuleBasedStateMachine):
    """Random grant / revoke / supersede / expire / access sequences; after every step
    the decision agrees with the model at the boundary instants of every grant."""

    @initialize()
    def start(self) -> None:
        self.b = LedgerBuilder()
        self.model = Model()

    def _terms(
        self, subject: str, recipients: list[str], classes: list[str], start_h: int, hours: int
    ) -> dict[str, Any]:
        start = BASE + timedelta(hours=start_h)
        return {
            "subject": subject,
            "recipient_programs": recipients,
            "data_classes": classes,
            "signed_at": format_timestamp(BASE),
            "effective_from": format_timestamp(start),
            "expires_at": format_timestamp(start + timedelta(hours=hours)),
        }

    @rule(
        subject=st.sampled_from(SUBJECTS),
        recipients=st.lists(st.sampled_from(REQUESTERS), min_size=1, max_size=2, unique=True),
        classes=st.lists(st.sampled_from(DATA_CLASSES), min_size=1, max_size=3, unique=True),
        start_h=st.integers(0, 48),
        hours=st.integers(1, 72),
    )
    def grant(
        self, subject: str, recipients: list[str], classes: list[str], start_h: int, hours: int
    ) -> None:
        terms = self._terms(subject, recipients, classes, start_h, hours)
        index = self.b.grant(**terms)
        start = BASE + timedelta(hours=start_h)
        self.model.grants.append(
            ModelGrant(
                index,
                subject,
                frozenset(recipients),
                frozenset(classes),
                start,
                start + timedelta(hours=hours),
            )
        )

    def _live(self) -> list[ModelGrant]:
        return [g for g in self.model.grants if not g.ended]

    @precondition(lambda self: any(not g.ended for g in self.model.grants))
    @rule(data=st.data())
    def revoke(self, data: st.DataObject) -> None:
        target = data.draw(st.sampled_from(self._live()))
        self.b.revoke(target.index)
        target.ended = True

    @precondition(lambda self: any(not g.ended for g in self.model.grants))
    @rule(
        data=st.data(),
        classes=st.lists(st.sampled_from(DATA_CLASSES), min_size=1, max_size=3, unique=True),
    )
    def supersede(self, data: st.DataObject, classes: list[str]) -> None:
        old = data.draw(st.sampled_from(self._live()))
        terms = self._terms(old.subject, sorted(old.recipients), classes, 0, 96)
        from tests.factories import grant_terms

        index = self.b.add(
            self.b.agency_entry(
                "DCFS", type="SUPERSEDE", replaces=self.b.ref(old.index), grant=grant_terms(**terms)
            )
        )
        old.ended = True
        self.model.grants.append(
            ModelGrant(
                index,
                old.subject,
                old.recipients,
                frozenset(classes),
                BASE,
                BASE + timedelta(hours=96),
            )
        )

    @precondition(lambda self: bool(self.model.grants))
    @rule(
        data=st.data(),
        requester=st.sampled_from(REQUESTERS),
        data_class=st.sampled_from(DATA_CLASSES),
        edge=st.sampled_from(["start", "end", "before_end", "before_start"]),
    )
    def access(self, data: st.DataObject, requester: str, data_class: str, edge: str) -> None:
        grant = data.draw(st.sampled_from(self.model.grants))
        at = self._instant(grant, edge)
        expected = self.model.allows(requester, grant.subject, data_class, at)
        cites_allowed = (
            not grant.ended
            and requester in grant.recipients
            and data_class in grant.classes
            and grant.start <= at < grant.end
        )
        entry = self.b.hub_entry(
            type="ACCESS",
            basis="consent",
            grant=self.b.ref(grant.index),
            disclosing_program="child_welfare",
            subject=grant.subject,
            requester_program=requester,
            requester_staff="cm-77",
            requester_record=record_ref("doc-client"),
            data_classes=[data_class],
            checkpoint_size=self.b.state.size,
            made_at=format_timestamp(at),
        )
        if cites_allowed:
            self.b.add(entry)
            assert expected is not None
        else:
            with pytest.raises(EntryRejected):
                self.b.add(entry)

    @staticmethod
    def _instant(grant: ModelGrant, edge: str) -> datetime:
        return {
            "start": grant.start,
            "end": grant.end,
            "before_end": grant.end - timedelta(seconds=1),
            "before_start": grant.start - timedelta(seconds=1),
        }[edge]

    @invariant()
    def decisions_agree_with_the_model(self) -> None:
        if not hasattr(self, "b"):
            return
        for grant in self.model.grants:
            for edge in ("start", "end", "before_end", "before_start"):
                at = self._instant(grant, edge)
                for requester in REQUESTERS:
                    for data_class in DATA_CLASSES:
                        d = _decide(self.b, requester, grant.subject, data_class, at)
                        assert d.grant_index == self.model.allows(
                            requester, grant.subject, data_class, at
                        )
                        assert d.allowed == (d.grant_index is not None)


DecisionMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=15, deadline=None)
test_decision_agrees_with_the_reference_model = DecisionMachine.TestCase


def test_the_reason_follows_the_newest_grant_that_would_have_allowed_it() -> None:
    """A consent revoked, then signed again and left to expire, reads "expired"; one
    left to expire, then signed again and revoked, reads "revoked". Each carries a code
    a page can put in its own words."""
    renewed = LedgerBuilder()
    renewed.revoke(renewed.grant())
    short = renewed.grant(expires_at=format_timestamp(T0 + timedelta(days=2)))
    later = T0 + timedelta(days=3)
    d = _decide(renewed, "corrections", record_ref("client-1"), "contact", later)
    end = renewed.state.grants[short].terms.expires_at
    assert (d.why, d.why_at) == ("expired", end)
    assert "expired" in d.reason

    again = LedgerBuilder()
    again.grant(expires_at=format_timestamp(T0 + timedelta(days=2)))
    again.revoke(again.grant())
    d = _decide(again, "corrections", record_ref("client-1"), "contact", later)
    assert (d.why, d.reason) == ("revoked", "the client's consent to child_welfare was revoked")

    nothing = _decide(LedgerBuilder(), "corrections", record_ref("client-1"), "plan", T0)
    assert nothing.why == "no_consent"


def test_a_grant_for_the_case_manager_only_leaves_supervisors_out() -> None:
    b = LedgerBuilder()
    b.grant(recipient_staff="assigned_case_manager")
    asked: dict[str, Any] = {
        "requester_program": "corrections",
        "target_program": "child_welfare",
        "target_record": record_ref("client-1"),
        "data_class": "contact",
        "at": T0,
    }
    assert disclosure_decision(b.state, **asked).allowed
    withheld = disclosure_decision(b.state, **asked, supervision=True)
    assert not withheld.allowed
    assert withheld.why == "case_manager_only"
    assert "case manager only, not supervisors" in withheld.reason
    chain = LedgerBuilder()
    chain.grant(recipient_staff="chain_of_command")
    assert disclosure_decision(chain.state, **asked, supervision=True).allowed
