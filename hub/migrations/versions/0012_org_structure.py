"""org structure: each agency's staff, their supervisors, offices and units, so that a
supervisor's access follows the chain of command.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_member",
        sa.Column("agency_id", sa.String(64), sa.ForeignKey("agency.agency_id"), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("supervisor_id", sa.String(64), nullable=True),
        sa.Column("office", sa.String(200), nullable=True),
        sa.Column("unit", sa.String(200), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "staff_id"),
    )
    op.create_index("ix_staff_member_supervisor", "staff_member", ["agency_id", "supervisor_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_member_supervisor", table_name="staff_member")
    op.drop_table("staff_member")
