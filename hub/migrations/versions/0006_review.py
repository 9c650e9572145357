"""review: agencies' answers about links in the review band

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_answer",
        sa.Column("agency_a", sa.String(length=64), nullable=False),
        sa.Column("ref_a", sa.String(length=64), nullable=False),
        sa.Column("agency_b", sa.String(length=64), nullable=False),
        sa.Column("ref_b", sa.String(length=64), nullable=False),
        sa.Column("answering_agency", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        sa.Column("answered_by", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency_a", "ref_a", "agency_b", "ref_b", "answering_agency"),
    )


def downgrade() -> None:
    op.drop_table("review_answer")
