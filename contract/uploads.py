"""What a node uploads (encodings, assignments, milestones) and what it is told back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from contract.households import HouseholdIn
from contract.milestones import BuyIn, DosageUnit, Mandate, StuckReason, stuck_reason_code
from contract.types import Base64, Identifier, RecordRef, RequestBody, ShortText, StaffId


class EncodingIn(RequestBody):
    ref: RecordRef
    clk: Base64
    enrolled_on: date | None = Field(default=None, description="When the client enrolled.")
    exited_on: date | None = Field(
        default=None,
        description="When the client left the program. An exited record stays at the hub "
        "as history (linked, answered with its dates) until the retention period ends; "
        "its contact and plan are dropped at once.",
    )
    household: HouseholdIn | None = Field(
        default=None, description="The household the record belongs to at its agency."
    )
    member_only: bool = Field(
        default=False,
        description="A family member the agency does not serve: linked so that their other "
        "programs can be found, never answered about as a client.",
    )

    @model_validator(mode="after")
    def _exit_after_enrollment(self) -> EncodingIn:
        if self.enrolled_on and self.exited_on and self.exited_on < self.enrolled_on:
            raise ValueError("exited_on is before enrolled_on")
        if self.member_only and self.household is None:
            raise ValueError("a member_only record belongs to a household")
        return self


class EncodingBatchIn(RequestBody):
    """New and changed encodings, and removed records, of one agency."""

    epoch: Identifier
    schema_fingerprint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    canary_digest: Base64 = Field(
        description="The node's keyed hash of the agreed canary record's encoding."
    )
    upserts: list[EncodingIn] = Field(default_factory=list)
    removals: list[RecordRef] = Field(default_factory=list)
    state: Literal["known", "new", "replace"] = Field(
        default="known",
        description="`new`: the node's state never had a batch acknowledged (refused when "
        "the hub already holds the agency's records: the state was lost and made again). "
        "`replace`: the same, and the steward chose to replace what the hub holds "
        "(`pprl node sync --reset`).",
    )


class ContactIn(RequestBody):
    """How other programs' case managers can reach the assigned case manager."""

    display_name: ShortText | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^[0-9+() .-]{7,25}$")] | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}$")] | None = None
    office: ShortText | None = None


class AssignmentIn(RequestBody):
    ref: RecordRef
    case_manager_id: StaffId
    contact: ContactIn = Field(default_factory=ContactIn)


class AssignmentBatchIn(RequestBody):
    upserts: list[AssignmentIn] = Field(default_factory=list)
    removals: list[RecordRef] = Field(default_factory=list)


MilestoneStatus = Literal["not_started", "in_progress", "complete", "stuck"]
Dosage = Annotated[float, Field(ge=0, le=100_000)]


class MilestoneIn(RequestBody):
    """A plan milestone as the program records it."""

    ref: RecordRef
    milestone_id: Identifier
    goal: ShortText
    milestone: ShortText
    activity: ShortText | None = None
    service_kind: Identifier | None = None
    need: Literal["basic_needs", "freedom", "family", "self_reliance"] | None = None
    target_start: date | None = None
    target_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    dosage: ShortText | None = Field(
        default=None, description="How much of the service, in the program's words."
    )
    planned_dosage: Dosage | None = Field(
        default=None, description="How much of the service is planned, in `dosage_unit`."
    )
    actual_dosage: Dosage | None = Field(
        default=None, description="How much has been delivered so far, in `dosage_unit`."
    )
    dosage_unit: DosageUnit | None = None
    status: MilestoneStatus
    stuck_reason: StuckReason | None = Field(
        default=None,
        description="Why it is stuck, as a code (see the README's list). Any other text "
        "is kept as `other`: free text about the client stays at the agency.",
    )
    stuck_since: date | None = Field(default=None, description="Since when it is stuck.")
    non_negotiable: bool = Field(
        default=False, description="Required of the client by a mandate, not a choice."
    )
    mandate: Mandate | None = Field(
        default=None, description="What makes it non-negotiable (required when it is)."
    )
    buy_in: BuyIn | None = Field(default=None, description="Whether the client agrees.")
    resources: ShortText | None = Field(
        default=None, description="What this program contributes (services, money, staff)."
    )
    stop_doing: bool = Field(
        default=False, description="The program proposes to stop this (duplicated, not helping)."
    )
    aftercare: bool = Field(default=False, description="Part of the plan for after the exit.")

    @field_validator("stuck_reason", mode="before")
    @classmethod
    def _coded(cls, value: object) -> str | None:
        return stuck_reason_code(value)

    @model_validator(mode="after")
    def _mandated(self) -> MilestoneIn:
        if self.non_negotiable and self.mandate is None:
            raise ValueError("a non-negotiable milestone needs its mandate")
        if self.mandate is not None:
            self.non_negotiable = True
        if (self.planned_dosage is not None or self.actual_dosage is not None) and (
            self.dosage_unit is None
        ):
            raise ValueError("planned_dosage and actual_dosage need dosage_unit")
        return self


class MilestoneKey(RequestBody):
    ref: RecordRef
    milestone_id: Identifier


class MilestoneBatchIn(RequestBody):
    upserts: list[MilestoneIn] = Field(default_factory=list)
    removals: list[MilestoneKey] = Field(default_factory=list)


class BatchOut(BaseModel):
    batch_id: str
    kind: Literal["encodings", "assignments", "milestones"]
    accepted: int
    removed: int
    replayed: bool
    replaced: int = Field(
        default=0, description="Records the hub dropped because the batch said `replace`."
    )


class RecordOut(BaseModel):
    """What the hub holds about one of the caller's records (never the contact or plan)."""

    agency_id: str
    ref: str
    has_encoding: bool
    epoch: str | None
    case_manager_id: str | None
    milestones: int
    updated_at: datetime | None


class SyncCheckInIn(RequestBody):
    """A node's word that it finished a sync, whether or not it had anything to send:
    what tells the hub an agency's nightly job still runs."""

    runs: int = Field(ge=0, le=1_000_000, description="Encoding runs this sync sent.")
    batches: int = Field(ge=0, le=10_000_000, description="Batches the hub acknowledged.")


class SyncCheckInOut(BaseModel):
    """When the hub heard from the agency's node, and how often it expects to."""

    agency_id: str
    last_sync_at: datetime
    expected_every_hours: float
