"""Schema version checks and upgrades (Alembic, run explicitly).

The revision is checked when a store is opened, and again in every write
transaction (:func:`guard_writes`): a program that opened the store before a later
mloop upgraded the database stops at its next write instead of writing with what
it knows of the schema (a monitor without the column a later revision added, a
blob that garbage collection then thinks nobody uses).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import NotAnMloopDatabase, SchemaMismatch
from mloop.store.sql.engine import WRITE
from mloop.store.sql.errors import shown_url
from mloop.store.sql.schema import KNOWN_REVISIONS, SCHEMA_HEAD, VERSION_TABLE

_MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = f"SELECT version_num FROM {VERSION_TABLE}"


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database; None for an empty database."""
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        if VERSION_TABLE not in names:
            if names:
                shown = ", ".join(sorted(names)[:5])
                raise NotAnMloopDatabase(
                    f"{_where(engine)} is not an mloop database (it holds other tables: {shown})"
                )
            return None
        row = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
    return None if row is None else str(row[0])


def check_schema(engine: Engine) -> None:
    """Refuse a database whose schema this client cannot use, saying what to do."""
    _require_head(engine, current_revision(engine))


def guard_writes(engine: Engine) -> None:
    """Check the schema revision in every write transaction of ``engine``: one read.

    On SQLite at the start, once the write lock is taken: no upgrade can commit after
    it. On PostgreSQL just before the commit: a write may wait for the locks of an
    upgrade in progress and go on once it has committed, so a check at the start could
    pass and the write still land on the new schema.
    """
    sa.event.listen(engine, "begin" if engine.dialect.name == "sqlite" else "commit", _check_write)


def _check_write(conn: sa.Connection) -> None:
    if conn.get_execution_options().get(WRITE, False):
        _require_head(conn.engine, conn.exec_driver_sql(_REVISION).scalar())


def _require_head(engine: Engine, revision: str | None) -> None:
    if revision == SCHEMA_HEAD:
        return
    if revision is None:
        raise SchemaMismatch(
            f"{_where(engine)} has no mloop schema yet: run "
            f"`mloop --uri {shown_url(engine)} db upgrade` (or `mloop init` for a new workspace)"
        )
    _refuse_unknown(engine, revision)
    raise SchemaMismatch(
        f"{_where(engine)} has schema revision {revision}; this mloop needs {SCHEMA_HEAD}: "
        f"run `mloop --uri {shown_url(engine)} db upgrade`"
    )


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (before, after)."""
    from alembic import command
    from alembic.config import Config

    before = current_revision(engine)
    if before is not None:
        _refuse_unknown(engine, before)
    if engine.dialect.name == "sqlite":  # stored in the file: set once, here, never on open
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA journal_mode=WAL")
        finally:
            raw.close()
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, SCHEMA_HEAD


def _refuse_unknown(engine: Engine, revision: str) -> None:
    if revision not in KNOWN_REVISIONS:
        raise SchemaMismatch(
            f"{_where(engine)} has schema revision {revision}, written by a newer mloop "
            f"than this one (which knows up to {SCHEMA_HEAD}): upgrade mloop "
            "(pip install -U mloop)"
        )


def _where(engine: Engine) -> str:
    return f"the database {shown_url(engine)}"
