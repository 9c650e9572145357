"""linkage: change sequence on encodings, removals, runs, clusters and links

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("encoding") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch.create_index("ix_encoding_seq", ["seq"])
    op.create_table(
        "encoding_removal",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", "agency_id", "ref"),
    )
    counter = op.create_table(
        "encoding_counter",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(counter, [{"id": 1, "value": 0}])
    op.create_table(
        "linkage_run",
        sa.Column("run_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("requested_threshold", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("threshold_source", sa.String(length=64), nullable=True),
        sa.Column("params", sa.Text(), nullable=True),
        sa.Column("counts", sa.Text(), nullable=True),
        sa.Column("proposal", sa.Text(), nullable=True),
        sa.Column("epoch", sa.String(length=64), nullable=True),
        sa.Column("schema_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("through_seq", sa.BigInteger(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_linkage_run_status", "linkage_run", ["status"])
    op.create_table(
        "record_cluster",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("cluster_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("linkage_run.run_id"), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "ref"),
    )
    op.create_index("ix_record_cluster_cluster_id", "record_cluster", ["cluster_id"])
    op.create_table(
        "link",
        sa.Column("agency_a", sa.String(length=64), nullable=False),
        sa.Column("ref_a", sa.String(length=64), nullable=False),
        sa.Column("agency_b", sa.String(length=64), nullable=False),
        sa.Column("ref_b", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("review", sa.Boolean(), nullable=False),
        sa.Column("cluster_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("linkage_run.run_id"), nullable=False),
        sa.PrimaryKeyConstraint("agency_a", "ref_a", "agency_b", "ref_b"),
    )
    op.create_index("ix_link_b", "link", ["agency_b", "ref_b"])
    op.create_index("ix_link_cluster_id", "link", ["cluster_id"])


def downgrade() -> None:
    op.drop_index("ix_link_cluster_id", table_name="link")
    op.drop_index("ix_link_b", table_name="link")
    op.drop_table("link")
    op.drop_index("ix_record_cluster_cluster_id", table_name="record_cluster")
    op.drop_table("record_cluster")
    op.drop_index("ix_linkage_run_status", table_name="linkage_run")
    op.drop_table("linkage_run")
    op.drop_table("encoding_counter")
    op.drop_table("encoding_removal")
    with op.batch_alter_table("encoding") as batch:
        batch.drop_index("ix_encoding_seq")
        batch.drop_column("seq")
