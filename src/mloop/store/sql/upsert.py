"""Dialect-specific INSERT variants that SQLite and PostgreSQL both support."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: sa.Connection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(
    conn: sa.Connection, table: sa.Table, keys: Sequence[str]
) -> sqlite.Insert | postgresql.Insert:
    """INSERT that does nothing when a row with the same ``keys`` exists."""
    return _insert(conn, table).on_conflict_do_nothing(index_elements=list(keys))


def insert_replace(
    conn: sa.Connection,
    table: sa.Table,
    keys: Sequence[str],
    columns: Sequence[str],
    where: Callable[[sa.ColumnCollection[str, sa.ColumnElement[object]]], sa.ColumnElement[bool]]
    | None = None,
) -> sqlite.Insert | postgresql.Insert:
    """INSERT that overwrites ``columns`` of an existing row.

    ``where``, given the incoming row (``excluded``), limits which rows are overwritten.
    """
    stmt = _insert(conn, table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: stmt.excluded[name] for name in columns},
        where=None if where is None else where(stmt.excluded),
    )
