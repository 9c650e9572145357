"""Hub tables. Tables never leave the service layer; routes speak `schemas`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, LargeBinary, String, Text
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


class Canary(SQLModel, table=True):
    """Each agency's canary CLK per epoch and schema: they must all be equal."""

    __tablename__ = "canary"

    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.agency_id"), primary_key=True)
    )
    epoch: str = Field(sa_column=Column(String(64), primary_key=True))
    schema_fingerprint: str = Field(sa_column=Column(String(64), primary_key=True))
    clk: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
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
