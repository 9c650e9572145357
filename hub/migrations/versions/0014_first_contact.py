"""first contact: when a case manager first contacted another program's case manager
about a client, for the dashboard's "days from match to first contact".

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "first_contact",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("program", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(32), nullable=False),
        sa.Column("contacted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "ref", "program"),
    )


def downgrade() -> None:
    op.drop_table("first_contact")
