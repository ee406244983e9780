"""Deployments with their revisions, and the prediction log's index and labels.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY = 250


def _fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id")


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.BigInteger, _fk("projects"), nullable=False),
        sa.Column("name", sa.String(KEY), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "deployment_revisions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("deployment_id", sa.BigInteger, _fk("deployments"), nullable=False),
        sa.Column("number", sa.BigInteger, nullable=False),
        sa.Column("routes", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("source", sa.BigInteger, nullable=False),
        sa.Column("user_name", sa.String(KEY), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.UniqueConstraint("deployment_id", "number"),
    )
    op.create_table(
        "prediction_segments",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger, nullable=False),
        sa.Column("package", sa.String(64), nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("deployment_id", sa.BigInteger, _fk("deployments")),
        sa.Column("revision", sa.BigInteger),
        sa.Column("version_id", sa.BigInteger, _fk("model_versions")),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_prediction_segments_deployment",
        "prediction_segments",
        ["deployment_id", "start_time"],
    )
    op.create_index(
        "ix_prediction_segments_version", "prediction_segments", ["version_id", "start_time"]
    )
    op.create_table(
        "prediction_labels",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("row", sa.Integer, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "prediction_labels",
        "prediction_segments",
        "deployment_revisions",
        "deployments",
    ):
        op.drop_table(table)
