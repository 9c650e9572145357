"""What answering case managers leaves behind: visits, existence disclosures,
notifications, recent disclosures and probe flags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from hub.db import UTCDateTime


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
