"""Indexes by key and value, so a filter finds matching runs without visiting each run.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_params_key_value": ("params", ["key", "value"]),
    "ix_params_key_num": ("params", ["key", "num"]),
    "ix_latest_metrics_key_value": ("latest_metrics", ["key", "value"]),
    "ix_tags_key_value": ("tags", ["key", "value"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
