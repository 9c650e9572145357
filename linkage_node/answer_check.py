"""Checking an answer to "is this client shared?" against the ledger history this node
witnessed: each grant it cites must be in that history, live, about that record, naming
one of the asking agency's programs and covering the level shown, when the answer was
decided (which must be now, give or take `ANSWER_MAX_AGE`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from consent import Checkpoint, ConsentError, LedgerView
from consent.fields import DataClass
from contract import FamilyOut, FamilyProgramOut, GrantProofOut, SharedOut, SharedProgramOut
from keys import canonical

# A grant an answer cites: the program's entry, the level, and the grant's proof.
Cited = tuple[SharedProgramOut | FamilyProgramOut, str, GrantProofOut]

# An answer decided longer ago than this is not checked as if it were current.
ANSWER_MAX_AGE = timedelta(minutes=10)


@dataclass(frozen=True)
class AnswerCheck:
    """What the node could prove about an answer's grants: `verified` is None when the
    answer relied on no grant, else whether every one of them checked."""

    verified: bool | None
    problems: tuple[str, ...] = ()


def check_grants(
    view: LedgerView,
    checkpoint: Checkpoint,
    cited: list[Cited],
    answer: SharedOut | FamilyOut,
    *,
    programs: tuple[str, ...],
    now: datetime | None,
) -> AnswerCheck:
    """Whether every cited grant checks (see the module notes), with each problem."""
    decided = answer.decided_at
    if decided.tzinfo is None or abs((now or datetime.now(UTC)) - decided) > ANSWER_MAX_AGE:
        return AnswerCheck(False, ("the answer is not fresh: it was decided at another time",))
    problems = []
    for program, level, grant in cited:
        try:
            leaf = canonical.b64decode(grant.leaf)
            proof = [bytes.fromhex(h) for h in grant.inclusion_proof]
            why = view.check_grant(
                index=grant.index,
                leaf=leaf,
                inclusion_proof=proof,
                checkpoint=checkpoint,
                requester_programs=programs,
                target_agency=program.agency_id,
                target_program=program.program,
                target_record=program.record_ref,
                data_class=cast(DataClass, level),
                at=decided,
            )
        except (ValueError, canonical.EncodingError, ConsentError):
            why = "the grant it cites is malformed"
        if why is not None:
            problems.append(f"{program.program} {level}: {why}")
    return AnswerCheck(not problems, tuple(problems))
