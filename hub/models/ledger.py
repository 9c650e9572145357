"""The consent ledger's storage: entries, checkpoints, cosignatures, the head."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    LargeBinary,
    String,
    Text,
)
from sqlmodel import Field, SQLModel

from hub.db import UTCDateTime


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
