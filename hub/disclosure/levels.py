"""Deciding each level of each linked record with `consent.disclosure_decision`.

The levels are existence (which programs), `contact` (their assigned case manager and how
to reach them) and `plan` (their milestones). A program whose existence may not be
disclosed is left out entirely, so an answer never hints at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from consent import ConsentState, GrantProof, disclosure_decision
from consent.fields import DataClass
from hub.disclosure.links import LinkPath, Record
from hub.services.plans import PlanItem

LEVELS: tuple[DataClass, ...] = ("existence", "contact", "plan")


@dataclass
class Disclosure:
    """One level of one linked record: allowed or not, why, and what it relied on."""

    data_class: DataClass
    allowed: bool
    reason: str
    basis: str | None = None
    requester_program: str | None = None
    grant_index: int | None = None
    grant_leaf_hash: bytes | None = None
    proof: GrantProof | None = None  # the grant's inclusion proof, once proven
    access_entry: int | None = None  # the ACCESS entry that recorded it, once recorded
    why: str | None = None  # withheld: a code for the asking page (consent.Decision.why)
    why_at: str | None = None


@dataclass
class LinkedProgram:
    """Another program's record of the same client, with what may be shown of it."""

    agency_id: str
    program: str
    ref: str
    path: LinkPath
    levels: dict[str, Disclosure] = field(default_factory=dict)
    case_manager_id: str | None = None
    contact: dict[str, Any] | None = None
    plan: list[PlanItem] | None = None
    # Enrollment history, shown with existence: when the client enrolled, and left.
    enrolled_on: date | None = None
    exited_on: date | None = None

    def allowed(self) -> list[Disclosure]:
        """The levels that may be shown."""
        return [level for level in self.levels.values() if level.allowed]

    @property
    def current(self) -> bool:
        """Whether the program serves the client now (not history)."""
        return self.exited_on is None

    def close_as_history(self, exited_on: date) -> None:
        """An exited record: its contact and plan left the hub with the exit, so those
        levels are withheld whatever consent says, and existence tells the dates."""
        self.exited_on = exited_on
        for level in ("contact", "plan"):
            if level in self.levels:
                self.levels[level] = Disclosure(
                    level,
                    False,
                    f"{self.program} closed this client's case on {exited_on.isoformat()}",
                    why="exited",
                    why_at=exited_on.isoformat(),
                )


def decide_programs(
    state: ConsentState,
    linked: dict[Record, LinkPath],
    programs: dict[str, list[str]],
    requester_programs: list[str],
    *,
    levels: tuple[DataClass, ...],
    at: datetime,
    existence_by_agreement: bool,
    supervision: bool = False,
) -> list[LinkedProgram]:
    """The programs of the `linked` records whose existence may be disclosed to the
    requester's programs, each with `levels` (existence first) decided."""
    out = []
    for (other_agency, other_ref), path in linked.items():
        for program in programs.get(other_agency, []):
            entry = LinkedProgram(other_agency, program, other_ref, path)
            for level in levels:
                entry.levels[level] = decide_level(
                    state,
                    requester_programs,
                    target=(program, other_ref),
                    level=level,
                    at=at,
                    existence_by_agreement=existence_by_agreement,
                    supervision=supervision,
                )
            if entry.levels["existence"].allowed:
                out.append(entry)
    return out


def decide_level(
    state: ConsentState,
    requester_programs: list[str],
    *,
    target: tuple[str, str],
    level: DataClass,
    at: datetime,
    existence_by_agreement: bool,
    supervision: bool = False,
) -> Disclosure:
    """`level` of `target` (program, record) for the first of the requester's programs
    that may see it; withheld with the first program's reason when none may."""
    target_program, target_record = target
    first = None
    for requester in requester_programs:
        decision = disclosure_decision(
            state,
            requester_program=requester,
            target_program=target_program,
            target_record=target_record,
            data_class=level,
            at=at,
            existence_by_agreement=existence_by_agreement,
            supervision=supervision,
        )
        if decision.allowed:
            return Disclosure(
                level,
                True,
                decision.reason,
                basis=decision.basis,
                requester_program=requester,
                grant_index=decision.grant_index,
                grant_leaf_hash=decision.grant_leaf_hash,
            )
        first = first or decision
    if first is None:
        return Disclosure(
            level, False, f"no consent on record from {target_program}", why="no_consent"
        )
    return Disclosure(level, False, first.reason, why=first.why, why_at=first.why_at)
