"""Hub tables. Tables never leave the service layer; routes speak `schemas`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from hub.db import UTCDateTime


class Agency(SQLModel, table=True):
    """A registered agency."""

    __tablename__ = "agency"

    agency_id: str = Field(primary_key=True, max_length=64)
    registered_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Program(SQLModel, table=True):
    """A program run by an agency; program ids are unique across the hub."""

    __tablename__ = "program"

    program_id: str = Field(primary_key=True, max_length=64)
    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.agency_id"), nullable=False, index=True)
    )


class AgencyKey(SQLModel, table=True):
    """A public key of an agency with its validity interval."""

    __tablename__ = "agency_key"

    key_id: str = Field(primary_key=True, max_length=80)
    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.agency_id"), nullable=False, index=True)
    )
    kind: str = Field(max_length=16)
    public_key: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    valid_from: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class LedgerEntry(SQLModel, table=True):
    """One consent-ledger leaf: the signed bytes exactly as received. Never updated or
    deleted (a database trigger refuses both)."""

    __tablename__ = "ledger_entry"

    entry_index: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False, nullable=False)
    )
    leaf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    appended_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class LedgerCheckpoint(SQLModel, table=True):
    """A signed checkpoint (C2SP note) of the ledger at `size`. Append-only too."""

    __tablename__ = "ledger_checkpoint"

    size: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False, nullable=False)
    )
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class LedgerCosignature(SQLModel, table=True):
    """An agency witness's cosignature line on the checkpoint of `size`."""

    __tablename__ = "ledger_cosignature"

    size: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False, nullable=False)
    )
    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.agency_id"), primary_key=True)
    )
    line: str = Field(sa_column=Column(Text, nullable=False))
    cosigned_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class LedgerHead(SQLModel, table=True):
    """One row counting the ledger's entries. Appends update it first: that takes the
    write lock (a row lock on PostgreSQL, the database lock on SQLite), so concurrent
    appends are serialised and indices stay gap-free."""

    __tablename__ = "ledger_head"

    id: int = Field(primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))


class Encoding(SQLModel, table=True):
    """The current CLK of one agency record, under one secret epoch and schema."""

    __tablename__ = "encoding"

    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.agency_id"), primary_key=True)
    )
    ref: str = Field(sa_column=Column(String(64), primary_key=True))
    clk: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    epoch: str = Field(sa_column=Column(String(64), nullable=False))
    schema_fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # The batch that last wrote this row (`EncodingCounter`): linkage runs pick up
    # everything after the sequence number they last linked through.
    seq: int = Field(
        default=0,
        sa_column=Column(BigInteger, nullable=False, server_default="0", index=True),
    )


class EncodingRemoval(SQLModel, table=True):
    """A record an agency removed, by the batch that removed it."""

    __tablename__ = "encoding_removal"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    agency_id: str = Field(sa_column=Column(String(64), primary_key=True))
    ref: str = Field(sa_column=Column(String(64), primary_key=True))


class EncodingCounter(SQLModel, table=True):
    """One row: the last batch sequence number. Taking the next one locks the row, so
    batches commit in sequence order."""

    __tablename__ = "encoding_counter"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class Canary(SQLModel, table=True):
    """Each agency's canary digest (a keyed hash of the agreed canary record's encoding)
    per epoch and schema: they must all be equal."""

    __tablename__ = "canary"

    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.agency_id"), primary_key=True)
    )
    epoch: str = Field(sa_column=Column(String(64), primary_key=True))
    schema_fingerprint: str = Field(sa_column=Column(String(64), primary_key=True))
    digest: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class UploadBatch(SQLModel, table=True):
    """An applied batch, by the agency's idempotency key: a replay is a no-op."""

    __tablename__ = "upload_batch"

    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.agency_id"), primary_key=True)
    )
    idempotency_key: str = Field(sa_column=Column(String(128), primary_key=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    body_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    accepted: int = Field(sa_column=Column(Integer, nullable=False))
    removed: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Assignment(SQLModel, table=True):
    """Which case manager serves a record, and how to reach them (sealed at rest)."""

    __tablename__ = "assignment"
    __table_args__ = (Index("ix_assignment_case_manager", "agency_id", "case_manager_id"),)

    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.agency_id"), primary_key=True)
    )
    ref: str = Field(sa_column=Column(String(64), primary_key=True))
    case_manager_id: str = Field(sa_column=Column(String(32), nullable=False))
    contact: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Milestone(SQLModel, table=True):
    """One plan milestone of a record (sealed at rest)."""

    __tablename__ = "milestone"

    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.agency_id"), primary_key=True)
    )
    ref: str = Field(sa_column=Column(String(64), primary_key=True))
    milestone_id: str = Field(sa_column=Column(String(64), primary_key=True))
    plan: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class LinkageRun(SQLModel, table=True):
    """One linkage run: what was asked, what it linked at, its counts, progress, error."""

    __tablename__ = "linkage_run"

    run_id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    requested_by: str = Field(sa_column=Column(String(255), nullable=False))
    requested_threshold: float | None = Field(default=None, sa_column=Column(Float))
    threshold: float | None = Field(default=None, sa_column=Column(Float))
    threshold_source: str | None = Field(default=None, sa_column=Column(String(64)))
    params: str | None = Field(default=None, sa_column=Column(Text))  # JSON
    counts: str | None = Field(default=None, sa_column=Column(Text))  # JSON
    proposal: str | None = Field(default=None, sa_column=Column(Text))  # JSON
    epoch: str | None = Field(default=None, sa_column=Column(String(64)))
    schema_fingerprint: str | None = Field(default=None, sa_column=Column(String(64)))
    through_seq: int | None = Field(default=None, sa_column=Column(BigInteger))
    progress: float = Field(sa_column=Column(Float, nullable=False))
    stage: str = Field(sa_column=Column(String(200), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class RecordCluster(SQLModel, table=True):
    """The cluster a record is in now (records in no cluster have no row)."""

    __tablename__ = "record_cluster"

    agency_id: str = Field(sa_column=Column(String(64), primary_key=True))
    ref: str = Field(sa_column=Column(String(64), primary_key=True))
    cluster_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    run_id: int = Field(sa_column=Column(Integer, ForeignKey("linkage_run.run_id"), nullable=False))


class Link(SQLModel, table=True):
    """A link the solver made now, with its score; `review` links are not disclosed
    until an agency confirms them. A row with `agency_a == agency_b` is an agency's own
    two records of one person (a within-agency duplicate that joined the cluster)."""

    __tablename__ = "link"
    __table_args__ = (Index("ix_link_b", "agency_b", "ref_b"),)

    agency_a: str = Field(sa_column=Column(String(64), primary_key=True))
    ref_a: str = Field(sa_column=Column(String(64), primary_key=True))
    agency_b: str = Field(sa_column=Column(String(64), primary_key=True))
    ref_b: str = Field(sa_column=Column(String(64), primary_key=True))
    score: float = Field(sa_column=Column(Float, nullable=False))
    review: bool = Field(sa_column=Column(Boolean, nullable=False))
    cluster_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    run_id: int = Field(sa_column=Column(Integer, ForeignKey("linkage_run.run_id"), nullable=False))


class CaseloadVisit(SQLModel, table=True):
    """When a case manager last opened their caseload ("what changed since")."""

    __tablename__ = "caseload_visit"

    agency_id: str = Field(sa_column=Column(String(64), primary_key=True))
    staff_id: str = Field(sa_column=Column(String(32), primary_key=True))
    visited_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ExistenceDisclosure(SQLModel, table=True):
    """A "shared" flag already shown to a case manager on one basis, and the ACCESS entry
    that recorded it: the caseload records each such disclosure once, not per page view."""

    __tablename__ = "existence_disclosure"

    agency_id: str = Field(sa_column=Column(String(64), primary_key=True))
    staff_id: str = Field(sa_column=Column(String(32), primary_key=True))
    ref: str = Field(sa_column=Column(String(64), primary_key=True))
    disclosing_program: str = Field(sa_column=Column(String(64), primary_key=True))
    subject: str = Field(sa_column=Column(String(64), primary_key=True))
    basis: str = Field(sa_column=Column(String(16), primary_key=True))
    grant_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    access_entry: int = Field(sa_column=Column(BigInteger, nullable=False))
    disclosed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Notification(SQLModel, table=True):
    """The outbox: one message per case manager per linkage run that changed matches on
    their caseload (`run_id`), or per consent statement about a client on it
    (`ledger_index`). It names no client: it says what changed and links to the caseload.
    Email delivery is at most once (a row claimed as `sending` is never retried without
    an operator); the in-app feed reads the same rows."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("agency_id", "case_manager_id", "run_id", name="uq_notification_run"),
        UniqueConstraint(
            "agency_id", "case_manager_id", "ledger_index", name="uq_notification_entry"
        ),
        Index("ix_notification_inbox", "agency_id", "case_manager_id", "notification_id"),
        Index("ix_notification_email", "email_status", "next_attempt_at"),
    )

    notification_id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    agency_id: str = Field(sa_column=Column(String(64), nullable=False))
    case_manager_id: str = Field(sa_column=Column(String(32), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    run_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    ledger_index: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    clients: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    email_status: str = Field(sa_column=Column(String(16), nullable=False))
    email_attempts: int = Field(sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_error: str | None = Field(default=None, sa_column=Column(String(200)))
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class ReviewAnswer(SQLModel, table=True):
    """One agency's answer about a link in the review band, given by its steward looking
    at their own record only. Two "same" answers confirm the link (it becomes
    disclosable); the answers are also the labels of the threshold table. The score is
    kept so labels outlive re-links."""

    __tablename__ = "review_answer"

    agency_a: str = Field(sa_column=Column(String(64), primary_key=True))
    ref_a: str = Field(sa_column=Column(String(64), primary_key=True))
    agency_b: str = Field(sa_column=Column(String(64), primary_key=True))
    ref_b: str = Field(sa_column=Column(String(64), primary_key=True))
    answering_agency: str = Field(sa_column=Column(String(64), primary_key=True))
    answer: str = Field(sa_column=Column(String(16), nullable=False))
    answered_by: str = Field(sa_column=Column(String(32), nullable=False))
    score: float = Field(sa_column=Column(Float, nullable=False))
    answered_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class OverlapSnapshot(SQLModel, table=True):
    """The overlap report of one linkage run, computed once after it (suppression
    included) and served from here."""

    __tablename__ = "overlap_snapshot"

    run_id: int = Field(
        sa_column=Column(Integer, ForeignKey("linkage_run.run_id"), primary_key=True)
    )
    cell_limit: int = Field(sa_column=Column(Integer, nullable=False))
    max_programs: int = Field(sa_column=Column(Integer, nullable=False))
    report: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    computed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class RecentDisclosure(SQLModel, table=True):
    """The ACCESS entry that recorded a disclosure to one staff member, and when: the
    same disclosure shown again within the window is covered by it."""

    __tablename__ = "recent_disclosure"

    staff_id: str = Field(sa_column=Column(String(32), primary_key=True))
    ref: str = Field(sa_column=Column(String(64), primary_key=True))
    disclosing_program: str = Field(sa_column=Column(String(64), primary_key=True))
    subject: str = Field(sa_column=Column(String(64), primary_key=True))
    basis: str = Field(sa_column=Column(String(16), primary_key=True))
    grant_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    data_classes: str = Field(sa_column=Column(String(32), primary_key=True))
    run_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    access_entry: int = Field(sa_column=Column(BigInteger, nullable=False))
    disclosed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ProbeFlag(SQLModel, table=True):
    """A sign of membership probing around one existence disclosure
    (`hub.services.probing`): no PII, flagged once per pair of records and kind."""

    __tablename__ = "probe_flag"
    __table_args__ = (Index("ix_probe_flag_disclosing_agency", "disclosing_agency"),)

    asking_agency: str = Field(sa_column=Column(String(64), primary_key=True))
    asking_ref: str = Field(sa_column=Column(String(64), primary_key=True))
    disclosing_agency: str = Field(sa_column=Column(String(64), primary_key=True))
    disclosing_ref: str = Field(sa_column=Column(String(64), primary_key=True))
    kind: str = Field(sa_column=Column(String(16), primary_key=True))
    disclosing_program: str = Field(sa_column=Column(String(64), nullable=False))
    run_id: int = Field(sa_column=Column(Integer, nullable=False))
    flagged_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
