"""Request and response models of the hub API. Tables never leave the service layer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keys import IDENTIFIER_PATTERN, STAFF_ID_PATTERN

RecordRef = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Base64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]*={0,2}$", max_length=1024)]
# The same rules as the key library's, from the one place they are written.
StaffId = Annotated[str, StringConstraints(pattern=f"^{STAFF_ID_PATTERN}$")]
Identifier = Annotated[str, StringConstraints(pattern=f"^{IDENTIFIER_PATTERN}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- agencies -----------------------------------------------------------------------


class KeyOut(BaseModel):
    key_id: str
    kind: Literal["ed25519", "x25519"]
    public_key: str
    valid_from: datetime
    revoked_at: datetime | None


class AgencyOut(BaseModel):
    agency_id: str
    programs: list[str]
    keys: list[KeyOut]


class RevokeKeyIn(_In):
    """`compromised_since`: the earliest instant the key may have leaked, if it did.
    Every key it approved after that instant is revoked with it."""

    compromised_since: datetime | None = None


class KeyRequestIn(_In):
    """An agency's request for new keys, approved with a key it still holds: the file
    `pprl keys request-key` writes. The operator's call is the second approval."""

    request: dict[str, Any] = Field(description="The signed request (type KEY, add_key).")


class RecoverAgencyIn(_In):
    """New keys for an agency that lost every signing key, from an incident."""

    public: dict[str, Any] = Field(description="The agency's new agency.json.")
    incident: Identifier


# --- ledger -------------------------------------------------------------------------


class LedgerEntryIn(_In):
    """One signed leaf, base64: canonical entry JSON, a newline, the signature."""

    leaf: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]*={0,2}$", max_length=16384)]


class LedgerEntryOut(BaseModel):
    index: int
    leaf_hash: str


class CheckpointOut(BaseModel):
    size: int
    root: str
    note: str = Field(description="The signed note, with every agency's cosignature line.")
    cosigned_by: list[str] = Field(
        default_factory=list, description="Agencies whose witnesses cosigned this checkpoint."
    )


class CosignatureIn(_In):
    """An agency witness's C2SP cosignature line on a checkpoint it checked."""

    cosignature: Annotated[str, StringConstraints(min_length=1, max_length=400)]


class InclusionProofOut(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    proof: list[str]


class WithheldOut(BaseModel):
    """An entry the caller is not a party to, as the hub's signed note about it."""

    index: int
    leaf_hash: str
    type: Literal["GRANT", "SUPERSEDE", "REVOKE", "ACCESS", "KEY", "POLICY"]
    ends: int | None = Field(description="The grant this entry ends (REVOKE, SUPERSEDE).")
    signature: str = Field(description="The hub's log key's signature over the note.")


class LedgerLeafOut(BaseModel):
    """An entry: its leaf when the caller is a party to it (auditors: always), else the
    hub's signed note in its place."""

    index: int
    leaf: str | None = None
    withheld: WithheldOut | None = None


# --- uploads ------------------------------------------------------------------------


class EncodingIn(_In):
    ref: RecordRef
    clk: Base64


class EncodingBatchIn(_In):
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


class ContactIn(_In):
    """How other programs' case managers can reach the assigned case manager."""

    display_name: ShortText | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^[0-9+() .-]{7,25}$")] | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}$")] | None = None
    office: ShortText | None = None


class AssignmentIn(_In):
    ref: RecordRef
    case_manager_id: StaffId
    contact: ContactIn = Field(default_factory=ContactIn)


class AssignmentBatchIn(_In):
    upserts: list[AssignmentIn] = Field(default_factory=list)
    removals: list[RecordRef] = Field(default_factory=list)


MilestoneStatus = Literal["not_started", "in_progress", "complete", "stuck"]


class MilestoneIn(_In):
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


class MilestoneKey(_In):
    ref: RecordRef
    milestone_id: Identifier


class MilestoneBatchIn(_In):
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


# --- records ------------------------------------------------------------------------


class RecordOut(BaseModel):
    """What the hub holds about one of the caller's records (never the contact or plan)."""

    agency_id: str
    ref: str
    has_encoding: bool
    epoch: str | None
    case_manager_id: str | None
    milestones: int
    updated_at: datetime | None


# --- linkage ------------------------------------------------------------------------


class LinkageRunIn(_In):
    """`incremental` (the default) applies what changed since the last run at its
    settings; `full` re-links everything, at `threshold` or at one proposed from the
    scores when `threshold` is left out."""

    kind: Literal["full", "incremental"] = "incremental"
    threshold: float | None = Field(default=None, gt=0, le=1)


class LinkageRunOut(BaseModel):
    run_id: int
    kind: Literal["full", "incremental"]
    status: Literal["queued", "running", "succeeded", "failed"]
    requested_by: str
    requested_threshold: float | None
    threshold: float | None
    threshold_source: str | None
    progress: float
    stage: str
    error: str | None
    params: dict[str, Any] | None
    counts: dict[str, Any] | None
    proposal: dict[str, Any] | None
    epoch: str | None
    schema_fingerprint: str | None
    through_seq: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


# --- "is this client shared?" -------------------------------------------------------


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
    status: MilestoneStatus
    stuck_reason: str | None = None
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


class ConflictMilestoneOut(BaseModel):
    program: str
    milestone_id: str


class PlanConflictOut(BaseModel):
    kind: Literal["competing_deadlines", "overlapping_services", "stuck"]
    milestones: list[ConflictMilestoneOut]
    detail: str


class SharedOut(BaseModel):
    """What the caller may learn about other programs serving their client.

    `shared` is false when no other program may be named to the caller: either none is
    linked, or policy and consent allow no disclosure of it."""

    record_ref: str
    shared: bool
    decided_at: datetime
    programs: list[SharedProgramOut]
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
    changes: list[str] = Field(description="What changed since the previous visit.")


class CaseloadOut(BaseModel):
    case_manager_id: str
    as_of: datetime
    previous_visit: datetime | None
    clients: list[CaseloadItemOut]


class NotificationOut(BaseModel):
    notification_id: int
    created_at: datetime
    kind: Literal["matches_changed", "consent_recorded", "consent_changed", "consent_revoked"]
    message: str
    read: bool


class OverlapCellOut(BaseModel):
    kind: Literal["caseload", "shared_any", "pair", "exactly"]
    programs: list[str]
    count: int | None = Field(description="None when suppressed.")
    percent_of: dict[str, float | None]


class OverlapOut(BaseModel):
    """Clients shared between programs; cells under `limit`, and any cell that would let
    one be worked out, are suppressed."""

    limit: int
    suppressed_primary: int
    suppressed_complementary: int
    cells: list[OverlapCellOut]


class ReviewItemOut(BaseModel):
    """A link in the review band as one agency sees it: its own record only."""

    item_id: str
    ref: str = Field(description="The asking agency's own record reference.")
    score: float
    my_answer: Literal["same", "different", "unsure"] | None
    other_answered: bool
    other_ref: str | None = Field(
        default=None,
        description="For the agency's own two records of one person (a within-agency "
        "duplicate): its other record; the agency's one answer decides.",
    )


class ReviewAnswerIn(_In):
    answer: Literal["same", "different", "unsure"]


class AgencyHealthOut(BaseModel):
    """One agency's encodings at a glance, with warnings to act on."""

    agency_id: str
    records: int
    epochs: list[str]
    schema_fingerprints: list[str]
    popcount_mean: float = Field(description="Mean share of bits set.")
    popcount_sd: float
    popcount_histogram: list[int] = Field(description="20 bins of the share of bits set.")
    latest_sync_at: datetime | None
    latest_sync_records: int
    drift: float | None = Field(description="Latest sync's mean share minus the earlier ones'.")
    canary: Literal["matches", "differs", "missing"]
    linked_share: float
    warnings: list[str]


class ProbeFlagOut(BaseModel):
    """A sign of membership probing around one existence disclosure (no PII)."""

    kind: Literal["fresh_record", "exact_copy"]
    asking_agency: str
    asking_ref: str | None = Field(
        default=None, description="Shown to operators only, to ask the asking agency about."
    )
    disclosing_agency: str
    disclosing_program: str
    disclosing_ref: str
    run_id: int
    flagged_at: datetime
