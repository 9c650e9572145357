"""What a case manager is told: "is this client shared?", the caseload, notifications."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.uploads import MilestoneStatus


class GrantProofOut(BaseModel):
    """The grant a disclosure relied on, and its inclusion proof under `checkpoint`."""

    index: int
    leaf_hash: str
    leaf: str = Field(description="The grant's leaf (base64), for the asking node to check.")
    inclusion_proof: list[str]


class DisclosureLevelOut(BaseModel):
    """One level (existence, contact, plan) of one program: shown or withheld, and why."""

    allowed: bool
    reason: str
    basis: Literal["consent", "agreement"] | None = None
    access_entry: int | None = Field(
        default=None, description="The ledger's ACCESS entry recording this disclosure."
    )
    grant: GrantProofOut | None = None
    why: (
        Literal[
            "no_consent",
            "revoked",
            "ended",
            "expired",
            "not_yet_effective",
            "does_not_cover",
            "not_named",
            "no_case_manager",
            "exited",
            "case_manager_only",
        ]
        | None
    ) = Field(default=None, description="Why it is withheld, as a code to put in your words.")
    why_at: str | None = Field(
        default=None, description="The instant that matters: when the consent expired or starts."
    )


class ContactOut(BaseModel):
    case_manager_id: str
    display_name: str | None = None
    phone: str | None = None
    email: str | None = None
    office: str | None = None


class PlanMilestoneOut(BaseModel):
    program: str
    milestone_id: str
    goal: str
    milestone: str
    activity: str | None = None
    service_kind: str | None = None
    need: str | None = None
    target_start: date | None = None
    target_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    dosage: str | None = None
    planned_dosage: float | None = None
    actual_dosage: float | None = None
    dosage_unit: str | None = None
    status: MilestoneStatus
    stuck_reason: str | None = Field(default=None, description="A stuck reason code.")
    stuck_since: date | None = None
    non_negotiable: bool = False
    mandate: str | None = None
    buy_in: str | None = None
    resources: str | None = None
    stop_doing: bool = False
    aftercare: bool = False
    need_served: str | None = Field(
        default=None,
        description="The need it serves: `need` as recorded, or implied by `service_kind`.",
    )


class SharedProgramOut(BaseModel):
    """Another program serving the same client."""

    program: str
    agency_id: str
    record_ref: str = Field(description="That program's pseudonymous reference of the client.")
    link_score: float = Field(description="The weakest Dice score on the way to that record.")
    confirmed_in_review: bool
    confidence: Literal["confirmed_in_review", "high", "moderate"] = Field(
        description="How sure the match is: confirmed by both agencies' stewards, high "
        "(weakest link at 0.9 or more) or moderate (above the disclosure floor)."
    )
    run_id: int = Field(description="The linkage run that made the weakest link.")
    existence: DisclosureLevelOut
    contact: DisclosureLevelOut
    plan: DisclosureLevelOut
    contact_details: ContactOut | None = None
    milestones: list[PlanMilestoneOut] | None = None
    enrolled_on: date | None = Field(default=None, description="When the client enrolled there.")
    exited_on: date | None = Field(
        default=None, description="When the client left that program (past enrollments only)."
    )


class ConflictMilestoneOut(BaseModel):
    program: str
    milestone_id: str


class PlanConflictOut(BaseModel):
    kind: Literal["competing_deadlines", "over_capacity", "overlapping_services", "stuck"]
    milestones: list[ConflictMilestoneOut]
    detail: str
    non_negotiable: bool = Field(
        default=False,
        description="A milestone in it is required by a mandate: these come first.",
    )


class SharedOut(BaseModel):
    """What the caller may learn about other programs serving their client.

    `shared` is false when no other program may be named to the caller: either none is
    linked, or policy and consent allow no disclosure of it."""

    record_ref: str
    shared: bool
    decided_at: datetime
    programs: list[SharedProgramOut] = Field(
        description="The other programs that serve the client now."
    )
    past_enrollments: list[SharedProgramOut] = Field(
        default_factory=list,
        description="Other programs that served the client and closed the case, with the "
        "dates, shown like current ones (the existence level) until the hub's retention "
        "period ends. Their contact and plan left the hub with the exit.",
    )
    plan: list[PlanMilestoneOut] = Field(
        description="Every milestone the caller may see (their own program's and the "
        "disclosed ones), in the client's priority order: basic needs, freedom, family, "
        "self-reliance."
    )
    conflicts: list[PlanConflictOut]
    withheld: list[str]
    checkpoint: str | None = Field(
        default=None, description="The signed checkpoint the grant proofs verify against."
    )


class CaseloadItemOut(BaseModel):
    """One client on the caseload, by the agency's pseudonymous reference (the node
    shows the name)."""

    record_ref: str
    shared: bool
    programs: list[str] = Field(description="Other programs that may be named as serving them.")
    past_programs: list[str] = Field(
        default_factory=list,
        description="Other programs that may be named as having served them, with the exit "
        "date (`program (until YYYY-MM-DD)`).",
    )
    changes: list[str] = Field(description="What changed since the previous visit.")


class CaseloadOut(BaseModel):
    case_manager_id: str
    as_of: datetime
    previous_visit: datetime | None
    clients: list[CaseloadItemOut]


NotificationKind = Literal[
    "matches_changed",
    "consent_recorded",
    "consent_changed",
    "consent_revoked",
    "enrollment_changed",
    "case_manager_changed",
    "new_conflict",
    "milestone_stuck",
]
Delivery = Literal["email", "in_app", "off"]


class NotificationOut(BaseModel):
    notification_id: int
    created_at: datetime
    kind: NotificationKind
    message: str
    read: bool


class NotificationPreferenceOut(BaseModel):
    kind: NotificationKind
    delivery: Delivery = Field(
        description="`email`: in the feed and by email (which names no client); `in_app`: "
        "the feed only; `off`: not at all."
    )
    description: str


class NotificationPreferencesIn(BaseModel):
    """Changes to the caller's preferences, by kind (kinds not named stay as they are)."""

    model_config = ConfigDict(extra="forbid")

    preferences: dict[NotificationKind, Delivery]


class FirstContactIn(BaseModel):
    """The caller reached this program's case manager about the client."""

    model_config = ConfigDict(extra="forbid")

    program: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")


class FirstContactOut(BaseModel):
    program: str
    contacted_at: datetime = Field(description="The first time it was recorded.")
