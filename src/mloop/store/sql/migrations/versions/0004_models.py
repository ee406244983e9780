"""The model registry: models, versions, aliases with their history, and evaluations.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY = 250


def _fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id")


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.BigInteger, _fk("projects"), nullable=False),
        sa.Column("name", sa.String(KEY), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("model_id", sa.BigInteger, _fk("registered_models"), primary_key=True),
        sa.Column("key", sa.String(KEY), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.BigInteger, _fk("registered_models"), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("package", sa.String(64), nullable=False),
        sa.Column("flavor", sa.String(KEY), nullable=False),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id")),
        sa.Column("source", sa.Text),
        sa.Column("signature", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("user_name", sa.String(KEY), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("model_id", "version"),
    )
    op.create_index("ix_model_versions_run", "model_versions", ["run_id"])
    op.create_table(
        "model_version_tags",
        sa.Column("version_id", sa.BigInteger, _fk("model_versions"), primary_key=True),
        sa.Column("key", sa.String(KEY), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "model_aliases",
        sa.Column("model_id", sa.BigInteger, _fk("registered_models"), primary_key=True),
        sa.Column("alias", sa.String(KEY), primary_key=True),
        sa.Column("version_id", sa.BigInteger, _fk("model_versions"), nullable=False),
    )
    op.create_table(
        "alias_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.BigInteger, _fk("registered_models"), nullable=False),
        sa.Column("alias", sa.String(KEY), nullable=False),
        sa.Column("version_id", sa.BigInteger, _fk("model_versions")),
        sa.Column("previous_id", sa.BigInteger, _fk("model_versions")),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("user_name", sa.String(KEY), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_alias_events_model_alias", "alias_events", ["model_id", "alias", "created_at"]
    )
    _evaluations()


def _evaluations() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("candidate", sa.String(64), nullable=False),
        sa.Column("candidate_version_id", sa.BigInteger, _fk("model_versions")),
        sa.Column("baseline_version_id", sa.BigInteger, _fk("model_versions")),
        sa.Column("dataset_version_id", sa.BigInteger, _fk("dataset_versions")),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("user_name", sa.String(KEY), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_evaluations_candidate", "evaluations", ["candidate"])
    op.create_index("ix_evaluations_candidate_version", "evaluations", ["candidate_version_id"])


def downgrade() -> None:
    for table in (
        "evaluations",
        "alias_events",
        "model_aliases",
        "model_version_tags",
        "model_versions",
        "registered_model_tags",
        "registered_models",
    ):
        op.drop_table(table)
