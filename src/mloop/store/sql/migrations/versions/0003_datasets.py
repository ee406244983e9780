"""Datasets, their versions with tags, and the dataset versions each run used.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _version_fk() -> sa.ForeignKey:
    return sa.ForeignKey("dataset_versions.id")


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("schema", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.BigInteger, sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("files", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger),
        sa.Column("profile", sa.String(64)),
        sa.Column("parent_id", sa.BigInteger, _version_fk()),
        sa.Column("user_name", sa.String(250), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("source", sa.Text),
        sa.UniqueConstraint("dataset_id", "version"),
    )
    op.create_index("ix_dataset_versions_digest", "dataset_versions", ["dataset_id", "digest"])
    op.create_table(
        "dataset_version_tags",
        sa.Column("version_id", sa.BigInteger, _version_fk(), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "run_inputs",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("version_id", sa.BigInteger, _version_fk(), primary_key=True),
        sa.Column("role", sa.String(250), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_run_inputs_version", "run_inputs", ["version_id"])


def downgrade() -> None:
    for table in ("run_inputs", "dataset_version_tags", "dataset_versions", "datasets"):
        op.drop_table(table)
