"""What a node uploads (encodings, assignments, milestones) and what it is told back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

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

    @model_validator(mode="after")
    def _exit_after_enrollment(self) -> EncodingIn:
        if self.enrolled_on and self.exited_on and self.exited_on < self.enrolled_on:
            raise ValueError("exited_on is before enrolled_on")
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
    dosage: ShortText | None = None
    status: MilestoneStatus
    stuck_reason: ShortText | None = None


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
