"""What the hub remembers about case managers' follow-up: their notification
preferences, the conflicts and stuck milestones they were told of, and when they first
contacted another program's case manager about a client."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from hub.db import UTCDateTime


class NotificationPreference(SQLModel, table=True):
    """How one staff member wants one kind of notification: `email` (in the feed and
    by email), `in_app` (the feed only) or `off`. No row: `email`."""

    __tablename__ = "notification_preference"

    agency_id: str = Field(sa_column=Column(String(64), primary_key=True))
    staff_id: str = Field(sa_column=Column(String(32), primary_key=True))
    kind: str = Field(sa_column=Column(String(32), primary_key=True))
    delivery: str = Field(sa_column=Column(String(8), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class PlanAlertSeen(SQLModel, table=True):
    """A conflict (or a milestone stuck too long) in the combined plan of one client, as
    one case manager may see it: when they were told of it, and when it went away
    (`resolved_at`; it is told again, as new, if it comes back). `fingerprint` hashes the
    conflict's kind and milestones (program and milestone ids), never their text; the
    dashboard counts distinct fingerprints found and resolved per month."""

    __tablename__ = "plan_alert_seen"

    agency_id: str = Field(sa_column=Column(String(64), primary_key=True))
    staff_id: str = Field(sa_column=Column(String(32), primary_key=True))
    ref: str = Field(sa_column=Column(String(64), primary_key=True))
    fingerprint: str = Field(sa_column=Column(String(64), primary_key=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    seen_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class FirstContact(SQLModel, table=True):
    """When a case manager first said they contacted another program's case manager
    about one of their clients: the dashboard's "days from match to first contact"."""

    __tablename__ = "first_contact"

    agency_id: str = Field(sa_column=Column(String(64), primary_key=True))
    ref: str = Field(sa_column=Column(String(64), primary_key=True))
    program: str = Field(sa_column=Column(String(64), primary_key=True))
    staff_id: str = Field(sa_column=Column(String(32), nullable=False))
    contacted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
