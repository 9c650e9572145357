"""uploads: encodings, canaries, batches, assignments, milestones

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _agency() -> sa.Column[str]:
    return sa.Column(
        "agency_id", sa.String(length=64), sa.ForeignKey("agency.agency_id"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "encoding",
        _agency(),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("clk", sa.LargeBinary(), nullable=False),
        sa.Column("epoch", sa.String(length=64), nullable=False),
        sa.Column("schema_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "ref"),
    )
    op.create_table(
        "canary",
        _agency(),
        sa.Column("epoch", sa.String(length=64), nullable=False),
        sa.Column("schema_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("clk", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "epoch", "schema_fingerprint"),
    )
    op.create_table(
        "upload_batch",
        _agency(),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "idempotency_key"),
    )
    op.create_table(
        "assignment",
        _agency(),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("case_manager_id", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "ref"),
    )
    op.create_index("ix_assignment_case_manager", "assignment", ["agency_id", "case_manager_id"])
    op.create_table(
        "milestone",
        _agency(),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("milestone_id", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "ref", "milestone_id"),
    )


def downgrade() -> None:
    op.drop_table("milestone")
    op.drop_index("ix_assignment_case_manager", table_name="assignment")
    op.drop_table("assignment")
    op.drop_table("upload_batch")
    op.drop_table("canary")
    op.drop_table("encoding")
