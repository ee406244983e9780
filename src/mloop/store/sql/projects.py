"""Projects: the namespace every named aggregate lives in, created on first use."""

from __future__ import annotations

import sqlalchemy as sa

from mloop.store.sql.schema import projects
from mloop.store.sql.upsert import insert_ignore


def ensure_project(conn: sa.Connection, name: str, now: int) -> int:
    """The id of project ``name``, created in this transaction when missing."""
    conn.execute(insert_ignore(conn, projects, ["name"]).values(name=name, created_at=now))
    found = conn.scalar(sa.select(projects.c.id).where(projects.c.name == name))
    assert found is not None
    return int(found)
