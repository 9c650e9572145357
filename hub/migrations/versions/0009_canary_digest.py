"""canary digest: the canary is stored as the node's keyed hash of its encoding, not
the encoding (which was known plaintext labelling bit patterns). Stored canaries are
dropped: every node sends its digest with its next sync (schema v3 re-encodes anyway).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM canary")
    op.execute("ALTER TABLE canary RENAME COLUMN clk TO digest")


def downgrade() -> None:
    op.execute("DELETE FROM canary")
    op.execute("ALTER TABLE canary RENAME COLUMN digest TO clk")
