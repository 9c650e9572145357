"""households: the household a record belongs to at its agency (a pseudonymous key and
a role), and whether the record is a family member the agency does not serve.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("encoding") as batch:
        batch.add_column(sa.Column("household_ref", sa.String(64), nullable=True))
        batch.add_column(sa.Column("household_role", sa.String(16), nullable=True))
        batch.add_column(
            sa.Column("member_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_encoding_household", "encoding", ["agency_id", "household_ref"])


def downgrade() -> None:
    op.drop_index("ix_encoding_household", table_name="encoding")
    with op.batch_alter_table("encoding") as batch:
        batch.drop_column("member_only")
        batch.drop_column("household_role")
        batch.drop_column("household_ref")
