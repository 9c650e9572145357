"""overlap snapshot: each linkage run's overlap report, computed once, served from
storage; recent disclosures: the ACCESS entry covering a repeated view; probe flags

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "overlap_snapshot",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("cell_limit", sa.Integer(), nullable=False),
        sa.Column("max_programs", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["linkage_run.run_id"]),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "recent_disclosure",
        sa.Column("staff_id", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("disclosing_program", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("grant_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data_classes", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("access_entry", sa.BigInteger(), nullable=False),
        sa.Column("disclosed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "staff_id",
            "ref",
            "disclosing_program",
            "subject",
            "basis",
            "grant_index",
            "data_classes",
            "run_id",
        ),
    )

    op.create_table(
        "probe_flag",
        sa.Column("asking_agency", sa.String(length=64), nullable=False),
        sa.Column("asking_ref", sa.String(length=64), nullable=False),
        sa.Column("disclosing_agency", sa.String(length=64), nullable=False),
        sa.Column("disclosing_ref", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("disclosing_program", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("flagged_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "asking_agency", "asking_ref", "disclosing_agency", "disclosing_ref", "kind"
        ),
    )
    op.create_index("ix_probe_flag_disclosing_agency", "probe_flag", ["disclosing_agency"])


def downgrade() -> None:
    op.drop_index("ix_probe_flag_disclosing_agency", table_name="probe_flag")
    op.drop_table("probe_flag")
    op.drop_table("recent_disclosure")
    op.drop_table("overlap_snapshot")
