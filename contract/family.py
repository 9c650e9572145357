"""What the hub answers about a client's family: for each member of the client's
households at the asking agency, the other programs that may be named as serving them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from contract.answers import DisclosureLevelOut
from contract.households import HouseholdRole


class FamilyProgramOut(BaseModel):
    """Another program that serves a family member now, named on the member's own basis
    (their consent, a guardian's for a minor, or the agreement where policy allows)."""

    program: str
    agency_id: str
    record_ref: str = Field(description="That program's pseudonymous reference of the member.")
    confidence: Literal["confirmed_in_review", "high", "moderate"]
    existence: DisclosureLevelOut
    enrolled_on: date | None = None


class FamilyMemberOut(BaseModel):
    """One member of the client's household, as the asking agency listed them, with the
    programs that may be named as serving them now."""

    ref: str = Field(description="The member's record reference at the asking agency.")
    role: HouseholdRole
    member_only: bool = Field(description="Listed as family only: not served by the agency.")
    programs: list[FamilyProgramOut]


class FamilyOut(BaseModel):
    """A client's family: the other members of their households at the asking agency."""

    agency_id: str
    ref: str
    role: HouseholdRole | None = Field(description="The client's own role in the household.")
    decided_at: datetime
    members: list[FamilyMemberOut]
    checkpoint: str | None = None


class TwoGenerationCellOut(BaseModel):
    """Children served by `child_program` whose parent or guardian is served by
    `parent_program` (None: suppressed)."""

    child_program: str
    parent_program: str
    children: int | None


class FamiliesReportOut(BaseModel):
    """Families known to several systems, de-identified, small cells suppressed."""

    limit: int
    two_generation: list[TwoGenerationCellOut]
    families_by_programs: dict[str, int | None] = Field(
        description="Families by how many programs serve any member now: 1, 2, 3, 4+."
    )
    recorded_by_several_agencies: int | None = Field(
        description="Families whose households two or more agencies recorded."
    )
    suppressed: int
