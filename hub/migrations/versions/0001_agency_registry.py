"""agency registry: agencies, programs, public keys

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id"),
    )
    op.create_table(
        "program",
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.agency_id"]),
        sa.PrimaryKeyConstraint("program_id"),
    )
    op.create_index("ix_program_agency_id", "program", ["agency_id"])
    op.create_table(
        "agency_key",
        sa.Column("key_id", sa.String(length=80), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.agency_id"]),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_index("ix_agency_key_agency_id", "agency_key", ["agency_id"])


def downgrade() -> None:
    op.drop_index("ix_agency_key_agency_id", table_name="agency_key")
    op.drop_table("agency_key")
    op.drop_index("ix_program_agency_id", table_name="program")
    op.drop_table("program")
    op.drop_table("agency")
