"""Pipeline runs and their step runs (with the cache keys that let steps be reused).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY = 250


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("pipeline", sa.String(KEY), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("executor", sa.String(KEY), nullable=False),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("user_name", sa.String(KEY), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.BigInteger),
        sa.Column("error", sa.Text),
        sa.Column("resumed_from", sa.String(32)),
    )
    op.create_index("ix_pipeline_runs_pipeline", "pipeline_runs", ["pipeline", "created_at"])
    op.create_table(
        "step_runs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "pipeline_run_id", sa.String(32), sa.ForeignKey("pipeline_runs.id"), nullable=False
        ),
        sa.Column("node", sa.String(KEY), nullable=False),
        sa.Column("step", sa.String(KEY), nullable=False),
        sa.Column("cache_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outputs", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id")),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.BigInteger, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("reused_from", sa.BigInteger),
        sa.UniqueConstraint("pipeline_run_id", "node"),
    )
    op.create_index("ix_step_runs_cache_key", "step_runs", ["cache_key", "status"])


def downgrade() -> None:
    op.drop_table("step_runs")
    op.drop_table("pipeline_runs")
