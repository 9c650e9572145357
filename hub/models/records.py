"""What nodes upload: encodings (with their enrollment dates), removals, canaries,
batches, assignments and milestones."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    false,
)
from sqlmodel import Field, SQLModel

from hub.db import UTCDateTime


class Encoding(SQLModel, table=True):
    """The current CLK of one agency record, under one secret epoch and schema."""

    __tablename__ = "encoding"
    __table_args__ = (Index("ix_encoding_household", "agency_id", "household_ref"),)

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
    # Enrollment history (issue 19): an exited record stays as history, linked like any
    # other, until the retention job purges it (`hub.services.history`).
    enrolled_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    exited_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # When the hub first learnt of the exit: the caseload's "since your last visit".
    exit_noticed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    # Households (issue 21): the agency's household key as a pseudonym (like `ref`) and
    # the record's role in it; `member_only`: a family member the agency does not serve,
    # linked so that their programs can be found, never answered about as a client.
    household_ref: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    household_role: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    member_only: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, server_default=false()),
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


class SyncCheckIn(SQLModel, table=True):
    """The last time each agency's node finished a sync (with or without changes): what
    the operators' stale-sync alert is measured from."""

    __tablename__ = "sync_check_in"

    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.agency_id"), primary_key=True)
    )
    last_sync_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    runs: int = Field(sa_column=Column(Integer, nullable=False))
    batches: int = Field(sa_column=Column(BigInteger, nullable=False))
