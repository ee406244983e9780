"""A monitor's baseline as a column (it was a key of its settings); the automation:
jobs (one per trigger event), trigger cursors, the leases agents hold on policies, and
the decision log; and the requests a served model could not score.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY = 250


def upgrade() -> None:
    _monitor_baselines()
    op.create_table(
        "prediction_failures",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(KEY), nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("deployment_id", sa.BigInteger, sa.ForeignKey("deployments.id")),
        sa.Column("revision", sa.BigInteger),
    )
    op.create_index(
        "ix_prediction_failures_deployment", "prediction_failures", ["deployment_id", "time"]
    )
    op.create_table(
        "automation_jobs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("policy", sa.String(KEY), nullable=False),
        sa.Column("trigger", sa.String(KEY), nullable=False),
        sa.Column("dedupe", sa.String(KEY), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("project_id", "policy", "dedupe"),
    )
    op.create_index("ix_automation_jobs_state", "automation_jobs", ["project_id", "state"])
    op.create_table(
        "automation_cursors",
        sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("policy", sa.String(KEY), primary_key=True),
        sa.Column("trigger", sa.String(KEY), primary_key=True),
        sa.Column("cursor", sa.String(KEY), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "automation_leases",
        sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("policy", sa.String(KEY), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("until", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "automation_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("policy", sa.String(KEY), nullable=False),
        sa.Column("job_id", sa.BigInteger, sa.ForeignKey("automation_jobs.id")),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("user_name", sa.String(KEY), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_automation_events_policy", "automation_events", ["project_id", "policy", "id"]
    )


def _monitor_baselines() -> None:
    """A monitor's baseline blob becomes a column (it was a key of its settings JSON)."""
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("baseline", sa.String(64)))
    monitors = sa.table(
        "monitors",
        sa.column("id", sa.BigInteger),
        sa.column("settings", sa.Text),
        sa.column("baseline", sa.String),
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(monitors.c.id, monitors.c.settings)).all():
        try:
            digest = json.loads(row.settings).get("baseline")
        except (ValueError, AttributeError):
            continue
        if isinstance(digest, str) and digest:
            conn.execute(monitors.update().where(monitors.c.id == row.id).values(baseline=digest))


def downgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("baseline")
    op.drop_table("prediction_failures")
    op.drop_table("automation_events")
    op.drop_table("automation_leases")
    op.drop_table("automation_cursors")
    op.drop_table("automation_jobs")
