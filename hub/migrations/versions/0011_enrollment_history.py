"""enrollment history: an encoding carries the record's enrollment and exit dates, and
when the hub learnt of the exit; an exited record stays as history until retention.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("encoding") as batch:
        batch.add_column(sa.Column("enrolled_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("exited_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("exit_noticed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    # History cannot be kept without its dates: an exited record is removed, as it was
    # before this revision.
    op.execute(
        "DELETE FROM assignment WHERE EXISTS (SELECT 1 FROM encoding e WHERE "
        "e.agency_id = assignment.agency_id AND e.ref = assignment.ref AND e.exited_on IS NOT NULL)"
    )
    op.execute("DELETE FROM encoding WHERE exited_on IS NOT NULL")
    with op.batch_alter_table("encoding") as batch:
        batch.drop_column("exit_noticed_at")
        batch.drop_column("exited_on")
        batch.drop_column("enrolled_on")
