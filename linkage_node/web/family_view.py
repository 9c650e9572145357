"""The client page's "Family" section: the household this agency lists for the client,
with the other programs the hub may name as serving each member now, checked against
the ledger this node witnessed like the client's own answer.

Names come from the node's own directory (the roster's household); the hub answers by
reference only and never names a member this agency did not list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fastapi import Request

from consent import WitnessAlarm
from contract import HOUSEHOLD_ROLES, FamilyOut
from contract.errors import HubCallError, HubRefused
from linkage_node.consent_desk import is_minor
from linkage_node.state_rows import DirectoryEntry
from linkage_node.web.pages import node_of
from linkage_node.web.session import StaffSession


@dataclass(frozen=True)
class ProgramLine:
    """One program serving a member, in words."""

    program: str
    since: str | None
    confidence: str
    basis: str  # "consent" or "agreement"


@dataclass
class MemberView:
    """One family member as the page shows them."""

    record_id: str
    name: str
    role: str
    member_only: bool
    minor: bool
    programs: list[ProgramLine] = field(default_factory=list)


@dataclass
class FamilySection:
    """What the page shows under "Family" (absent when the client is in no household)."""

    members: list[MemberView]
    verified: bool | None = None
    problems: tuple[str, ...] = ()
    unavailable: str | None = None

    @property
    def minors_served_here(self) -> list[MemberView]:
        """Children a parent's consent form here may also cover."""
        return [m for m in self.members if m.minor and not m.member_only]

    @property
    def unnamed(self) -> list[MemberView]:
        """Members no program is named for (no consent, or no other program)."""
        return [m for m in self.members if not m.programs]


def family_section(
    request: Request, session: StaffSession, client: DirectoryEntry, *, today: date
) -> FamilySection | None:
    """The section for `client`, or None when the roster puts them in no household."""
    node = node_of(request)
    state = node.state()
    try:
        household = state.household_of(client.ref)
    finally:
        state.close()
    if not household:
        return None
    members = {
        m.ref: MemberView(
            m.record_id,
            m.name,
            HOUSEHOLD_ROLES.get(m.household_role, "family member"),
            m.member_only,
            is_minor(m.date_of_birth, today),
        )
        for m in household
    }
    section = FamilySection(list(members.values()))
    try:
        answer = node.hub.family(client.ref, token=lambda: node.token_for(session))
    except HubRefused as refused:
        section.unavailable = f"The hub did not answer about the family ({refused.status})."
        return section
    except HubCallError:
        section.unavailable = "The hub is not answering; the family's programs are not shown."
        return section
    _fill(section, members, answer)
    if node.witness is not None:
        try:
            check = node.witness.check_family(node.ledger, answer, node.identity.programs)
        except (WitnessAlarm, HubCallError):
            check = None
        if check is None:
            section.verified, section.problems = False, ("the ledger could not be checked",)
        else:
            section.verified, section.problems = check.verified, check.problems
    return section


def _fill(section: FamilySection, members: dict[str, MemberView], answer: FamilyOut) -> None:
    for member in answer.members:
        view = members.get(member.ref)
        if view is None:  # on the hub but not in tonight's directory: not shown
            continue
        view.programs = [
            ProgramLine(
                p.program.replace("_", " "),
                p.enrolled_on.isoformat() if p.enrolled_on else None,
                p.confidence,
                p.existence.basis or "agreement",
            )
            for p in member.programs
        ]
