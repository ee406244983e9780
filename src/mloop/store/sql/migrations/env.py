"""Alembic environment: runs on the connection mloop hands over, never opens its own."""

from __future__ import annotations

from alembic import context

from mloop.store.sql.schema import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
