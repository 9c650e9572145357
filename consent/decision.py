"""`disclosure_decision`: may this program see this data class of that record, now?

A pure function of a consent state (a replayed log prefix). It allows only on an
effective, unexpired, unrevoked grant recorded by the disclosing program about that very
record, naming the requester's program (or a class that includes it) and covering the
data class. The expiry instant itself is a deny; a revocation counts from its index on,
so any state that contains it denies. When several grants qualify the newest is used.

What is withheld says why, in words a case manager can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from consent._internal.merkle import MerkleTree, ProofError, verify_inclusion
from consent.checkpoints import Checkpoint, LogVerifier, open_checkpoint
from consent.errors import ProofInvalid
from consent.fields import DataClass, format_timestamp
from consent.state import ConsentState, GrantRecord, names_recipient


@dataclass(frozen=True)
class Decision:
    """The answer, the grant it relied on (if any), and the log size it was decided at."""

    allowed: bool
    data_class: DataClass
    reason: str
    basis: Literal["consent", "agreement"] | None
    grant_index: int | None
    grant_leaf_hash: bytes | None
    state_size: int
    checkpoint_note: str | None = None
    inclusion_proof: tuple[bytes, ...] | None = None
    # Why it was withheld, as a code a page can put in its own words: no_consent,
    # revoked, ended (a compromised key), expired, not_yet_effective, does_not_cover,
    # not_named; with the instant that matters (expiry or start) where there is one.
    why: str | None = None
    why_at: str | None = None


def attach_proof(
    decision: Decision, tree: MerkleTree, checkpoint_note: str, verifier: LogVerifier
) -> Decision:
    """The decision with the inclusion proof of its grant under a signed checkpoint.

    The checkpoint must include the grant; a decision without a grant is returned as is.
    """
    if decision.grant_index is None:
        return decision
    checkpoint = open_checkpoint(checkpoint_note, verifier)
    if checkpoint.size <= decision.grant_index:
        raise ProofInvalid(f"checkpoint at size {checkpoint.size} does not include the grant")
    proof = tree.inclusion_proof(decision.grant_index, checkpoint.size)
    proven = replace(decision, checkpoint_note=checkpoint_note, inclusion_proof=tuple(proof))
    check_decision_proof(proven, verifier)
    return proven


def check_decision_proof(decision: Decision, verifier: LogVerifier) -> Checkpoint:
    """Check, as a case manager's node or an auditor would, that the grant a decision
    relied on is in the log under a checkpoint the hub signed."""
    if (
        decision.grant_index is None
        or decision.grant_leaf_hash is None
        or decision.checkpoint_note is None
        or decision.inclusion_proof is None
    ):
        raise ProofInvalid("the decision carries no grant proof")
    checkpoint = open_checkpoint(decision.checkpoint_note, verifier)
    try:
        verify_inclusion(
            decision.grant_index,
            checkpoint.size,
            decision.grant_leaf_hash,
            list(decision.inclusion_proof),
            checkpoint.root,
        )
    except ProofError as exc:
        raise ProofInvalid(f"the grant is not proven to be in the log: {exc}") from None
    return checkpoint


def disclosure_decision(
    state: ConsentState,
    *,
    requester_program: str,
    target_program: str,
    target_record: str,
    data_class: DataClass,
    at: datetime,
    existence_by_agreement: bool = False,
    supervision: bool = False,
) -> Decision:
    """Decide whether `requester_program` may see `data_class` of `target_program`'s
    record `target_record` at instant `at`, given `state`. `supervision`: the asker is a
    supervisor of the client's case manager, whom a grant for the case manager only
    does not cover."""
    if at.tzinfo is None:
        raise ValueError("decision time must be timezone-aware")
    if data_class == "existence" and existence_by_agreement:
        return Decision(
            True,
            data_class,
            "the inter-agency agreement allows sharing that the client is served",
            "agreement",
            None,
            None,
            state.size,
        )
    grants = state.grants_for(target_program, target_record)
    for grant in reversed(grants):
        if _why_not(grant, requester_program, data_class, at, state.size, supervision) is None:
            return Decision(
                True,
                data_class,
                f"consent recorded by {target_program} (entry {grant.index})",
                "consent",
                grant.index,
                grant.leaf_hash,
                state.size,
            )
    why, reason, why_at = _denial(
        grants, requester_program, target_program, data_class, at, state.size, supervision
    )
    return Decision(False, data_class, reason, None, None, None, state.size, why=why, why_at=why_at)


def grant_allows(
    state: ConsentState,
    grant_index: int,
    *,
    requester_program: str,
    target_program: str,
    target_record: str,
    data_class: DataClass,
    at: datetime,
    supervision: bool = False,
) -> str | None:
    """Why the grant at `grant_index` does not allow this disclosure in `state`, or None
    when it does: the rules of `disclosure_decision`, applied to one cited grant (what a
    node checks before it says "consent verified")."""
    if at.tzinfo is None:
        raise ValueError("decision time must be timezone-aware")
    grant = state.grants.get(grant_index)
    if grant is None:
        return f"entry {grant_index} is not a grant recorded in the ledger"
    if (grant.terms.disclosing_program, grant.terms.subject) != (target_program, target_record):
        return f"entry {grant_index} is a grant about another record"
    why = _why_not(grant, requester_program, data_class, at, state.size, supervision)
    if why is None:
        return None
    if why == "revoked":  # superseded included: the cited grant no longer speaks
        return f"the client's consent to {target_program} was {grant.ended_because}"
    return _denial(
        [grant], requester_program, target_program, data_class, at, state.size, supervision
    )[1]


def _why_not(  # noqa: PLR0917  (private)
    grant: GrantRecord,
    program: str,
    data_class: DataClass,
    at: datetime,
    size: int,
    supervision: bool = False,
) -> str | None:
    terms = grant.terms
    start, end = terms.effective
    # The first rule the grant fails, in the order a reader checks them.
    failed = (
        ("revoked", not grant.live_at_index(size)),
        ("recipient", not names_recipient(terms, program)),
        ("data_class", data_class not in terms.data_classes),
        ("not_yet", at < start),
        ("expired", at >= end),
        ("case_manager_only", supervision and terms.recipient_staff == "assigned_case_manager"),
    )
    return next((why for why, fails in failed if fails), None)


def _denial(  # noqa: PLR0917  (private)
    grants: list[GrantRecord],
    program: str,
    target: str,
    data_class: DataClass,
    at: datetime,
    size: int,
    supervision: bool = False,
) -> tuple[str, str, str | None]:
    """(code, words, instant) for a withheld level. The newest grant that names the
    asking program and covers the data class decides (a consent renewed after one was
    revoked, then left to expire, reads "expired", not "revoked"); a superseded grant
    speaks through its replacement. Without one, the nearest miss is named."""
    live = [g for g in grants if g.ended_because != "superseded"]
    relevant = [
        g for g in live if names_recipient(g.terms, program) and data_class in g.terms.data_classes
    ]
    consent = f"the client's consent to {target}"
    if relevant:
        newest = max(relevant, key=lambda g: g.index)
        decided = _decided_by(newest, program, data_class, at, size, supervision)
        if decided is not None:
            return decided[0], f"{consent} {decided[1]}", decided[2]
    if any(names_recipient(g.terms, program) for g in live):
        return "does_not_cover", f"{consent} does not cover {data_class} details", None
    if live:
        return "not_named", f"{consent} does not name {program}", None
    when = format_timestamp(at)
    return (
        "no_consent",
        f"no consent on record from {target} for {data_class} details (at {when})",
        None,
    )


def _decided_by(  # noqa: PLR0917  (private)
    grant: GrantRecord,
    program: str,
    data_class: DataClass,
    at: datetime,
    size: int,
    supervision: bool,
) -> tuple[str, str, str | None] | None:
    why = _why_not(grant, program, data_class, at, size, supervision)
    if why == "case_manager_only":
        return "case_manager_only", "covers their case manager only, not supervisors", None
    if why == "revoked":
        if grant.ended_because == "revoked":
            return "revoked", "was revoked", None
        return "ended", f"was ended: {grant.ended_because}", None
    if why == "expired":
        return "expired", f"expired at {grant.terms.expires_at}", grant.terms.expires_at
    if why == "not_yet":
        return (
            "not_yet_effective",
            f"starts at {grant.terms.effective_from}",
            grant.terms.effective_from,
        )
    return None
