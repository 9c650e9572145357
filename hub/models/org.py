"""An agency's org structure: who reports to whom, and where they work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String
from sqlmodel import Field, SQLModel

from hub.db import UTCDateTime


class StaffMember(SQLModel, table=True):
    """One staff member of an agency as its node last sent the org structure: their
    supervisor (another staff id of the same agency) and office and unit. Staff ids are
    the agency's own pseudonymous ids, as in tokens and assignments."""

    __tablename__ = "staff_member"
    __table_args__ = (Index("ix_staff_member_supervisor", "agency_id", "supervisor_id"),)

    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.agency_id"), primary_key=True)
    )
    staff_id: str = Field(sa_column=Column(String(64), primary_key=True))
    supervisor_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    office: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    unit: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
