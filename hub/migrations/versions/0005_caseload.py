"""caseload: case managers' visits, the existence disclosures already recorded, and the
notification outbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "caseload_visit",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=False),
        sa.Column("visited_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "staff_id"),
    )
    op.create_table(
        "existence_disclosure",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("disclosing_program", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("grant_index", sa.BigInteger(), nullable=False),
        sa.Column("access_entry", sa.BigInteger(), nullable=False),
        sa.Column("disclosed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "agency_id", "staff_id", "ref", "disclosing_program", "subject", "basis", "grant_index"
        ),
    )

    op.create_table(
        "notification",
        sa.Column("notification_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("case_manager_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("email_status", sa.String(length=16), nullable=False),
        sa.Column("email_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("agency_id", "case_manager_id", "run_id", name="uq_notification_run"),
    )
    op.create_index(
        "ix_notification_inbox", "notification", ["agency_id", "case_manager_id", "notification_id"]
    )
    op.create_index("ix_notification_email", "notification", ["email_status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("notification")
    op.drop_table("existence_disclosure")
    op.drop_table("caseload_visit")
