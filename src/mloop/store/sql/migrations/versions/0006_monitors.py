"""Monitors, their per-window results, and the events they raise.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY = 250


def _fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id")


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.BigInteger, _fk("projects"), nullable=False),
        sa.Column("name", sa.String(KEY), nullable=False),
        sa.Column("deployment_id", sa.BigInteger, _fk("deployments"), nullable=False),
        sa.Column("reference", sa.String(KEY), nullable=False),
        sa.Column("reference_version_id", sa.BigInteger, _fk("dataset_versions"), nullable=False),
        sa.Column("window", sa.String(64), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("user_name", sa.String(KEY), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "monitor_results",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("monitor_id", sa.BigInteger, _fk("monitors"), nullable=False),
        sa.Column("window_index", sa.BigInteger, nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("window_end", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("drifted", sa.Boolean, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("report", sa.String(64)),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("monitor_id", "window_index"),
    )
    op.create_table(
        "monitor_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("monitor_id", sa.BigInteger, _fk("monitors"), nullable=False),
        sa.Column("result_id", sa.BigInteger, _fk("monitor_results"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_monitor_events_monitor", "monitor_events", ["monitor_id", "id"])


def downgrade() -> None:
    for table in ("monitor_events", "monitor_results", "monitors"):
        op.drop_table(table)
