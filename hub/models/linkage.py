"""Linkage runs and their results, review answers and overlap snapshots."""

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
    String,
    Text,
)
from sqlmodel import Field, SQLModel

from hub.db import UTCDateTime


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
