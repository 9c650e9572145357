"""cosignatures: agency witnesses' cosignature lines on checkpoints

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_cosignature",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.agency_id"]),
        sa.PrimaryKeyConstraint("size", "agency_id"),
    )


def downgrade() -> None:
    op.drop_table("ledger_cosignature")
