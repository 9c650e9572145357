"""Agencies, their programs and their keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKey,
    LargeBinary,
    String,
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
