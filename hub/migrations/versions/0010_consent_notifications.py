"""consent notifications: a notification is about a linkage run (matches changed) or a
ledger entry (consent recorded, changed or revoked), one per case manager each.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite changes a column's nullability by copying the table.
    with op.batch_alter_table("notification") as batch:
        batch.alter_column("run_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("ledger_index", sa.BigInteger(), nullable=True))
        batch.create_unique_constraint(
            "uq_notification_entry", ["agency_id", "case_manager_id", "ledger_index"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM notification WHERE run_id IS NULL")
    with op.batch_alter_table("notification") as batch:
        batch.drop_constraint("uq_notification_entry", type_="unique")
        batch.drop_column("ledger_index")
        batch.alter_column("run_id", existing_type=sa.Integer(), nullable=False)
