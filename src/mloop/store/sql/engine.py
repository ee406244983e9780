"""Engines for the two SQL backends, configured for many concurrent writers.

SQLite runs in WAL mode with a long busy timeout, and every write transaction
starts with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing
when a reader tries to become a writer. PostgreSQL goes through psycopg 3.

SQLite's own wait for a lock polls ever more slowly, up to every 100 ms, and is
not fair: a process that writes back to back (a fast training loop) takes the
lock again within microseconds of releasing it and can keep another process
waiting for its whole busy timeout. So mloop waits for the write lock itself,
trying every millisecond, and bulk writers (:class:`Pacer`) leave the lock free
for a few milliseconds after each long transaction: a waiting writer gets in
after at most one bulk transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPICursor

from mloop.config import store_scheme
from mloop.errors import BackendUnavailable, InvalidArgument, NotFound
from mloop.store.validate import INT64

WRITE = "mloop_write"
_BUSY_TIMEOUT_S = 60
_LOCK_POLL_S = 0.001
"""How often a writer tries again for SQLite's write lock while another process holds it."""
_BULK_GAP_S = 0.005
"""How long a bulk writer leaves SQLite's write lock free after a long transaction: several
times the poll above, so a waiting writer's next try falls in it."""


def create_engine(uri: str, *, create: bool = False) -> Engine:
    """An engine for ``uri``; a missing SQLite file is created only when ``create`` is set."""
    scheme, rest = store_scheme(uri), uri.partition("://")[2]
    try:
        if scheme == "sqlite":
            engine = _sqlite_engine(rest.removeprefix("/"), uri, create=create)
        elif scheme == "postgresql":
            engine = _postgres_engine(rest)
        else:
            raise InvalidArgument(
                f"unsupported store URI {uri!r}: use sqlite:///PATH or postgresql://..."
            )
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise InvalidArgument(f"malformed store URI {uri!r}: {exc}") from None
    sa.event.listen(engine, "before_cursor_execute", _check_integers, named=True)
    return engine


def _check_integers(**event: Any) -> None:
    """Refuse a whole number that no INTEGER or BIGINT column holds before the driver sees
    it: SQLite's raises OverflowError, PostgreSQL's compares it as a numeric. (Bulk writes,
    ``executemany``, check their values themselves.)"""
    parameters = event["parameters"]
    if event["executemany"] or not parameters:
        return
    values = parameters.values() if isinstance(parameters, dict) else parameters
    for value in values:
        if type(value) is int and not INT64[0] <= value <= INT64[1]:
            raise InvalidArgument(
                f"{value} is not a 64-bit whole number (from {INT64[0]} to {INT64[1]}), "
                "which is all the database stores"
            )


def writer(engine: Engine) -> Engine:
    """A view of ``engine`` whose transactions take the write lock up front."""
    return engine.execution_options(**{WRITE: True})


def _sqlite_engine(path: str, uri: str, *, create: bool) -> Engine:
    if path and path != ":memory:":
        file = Path(path)
        if not create and not file.exists():
            raise NotFound(
                f"no mloop database at {file}: run `mloop init` in the project folder, "
                f"or `mloop --uri {uri} db upgrade` to create it"
            )
        if not file.parent.is_dir():
            raise NotFound(f"cannot create {file}: folder {file.parent} does not exist")
    engine = sa.create_engine(
        f"sqlite+pysqlite:///{path}",
        connect_args={
            "timeout": _BUSY_TIMEOUT_S,
            "isolation_level": None,
            "check_same_thread": False,
        },
    )
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across crashes of mloop
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_S * 1000}")
    cursor.close()
    # SQLite's own lower() folds only ASCII; ILIKE must fold 'Ä' as PostgreSQL does.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(text: str | bytes | int | float | None) -> str | bytes | int | float | None:
    return text.lower() if isinstance(text, str) else text


def _sqlite_on_begin(connection: sa.Connection) -> None:
    if not connection.get_execution_options().get(WRITE, False):
        connection.exec_driver_sql("BEGIN")
        return
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None  # a connection that is beginning a transaction is open
    cursor = dbapi.cursor()
    cursor.execute("PRAGMA busy_timeout=0")  # mloop waits for the write lock itself
    try:
        if not _wait_for_write_lock(cursor, time.monotonic() + _BUSY_TIMEOUT_S):
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # fails at once, with SQLite's error
    finally:
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_S * 1000}")
        cursor.close()


def _wait_for_write_lock(cursor: DBAPICursor, deadline: float) -> bool:
    """Begin a write transaction, trying every millisecond while another connection holds
    the lock; False on another error or once ``deadline`` has passed."""
    while True:
        try:
            cursor.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.OperationalError as exc:
            if not exc.sqlite_errorname.startswith("SQLITE_BUSY") or time.monotonic() > deadline:
                return False
        time.sleep(_LOCK_POLL_S)


class Pacer:
    """Spaces the transactions of a bulk writer (metric points) on SQLite.

    ``with pacer:`` around each transaction: it waits until the lock has been free,
    since this writer's previous transaction, for a quarter of the time that one took,
    up to ``_BULK_GAP_S``: a long write is followed by a gap that a waiting writer's
    next try falls in, and short writes hold the lock at most four fifths of the time.
    A no-op on PostgreSQL, which locks rows, not the database.
    """

    def __init__(self, engine: Engine) -> None:
        self._sqlite = engine.dialect.name == "sqlite"
        self._free_at = 0.0
        self._lock = threading.Lock()
        self._started = threading.local()

    def __enter__(self) -> None:
        if self._sqlite:
            with self._lock:
                wait = self._free_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._started.at = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        if self._sqlite:
            now = time.monotonic()
            gap = min((now - self._started.at) / 4, _BULK_GAP_S)
            with self._lock:
                self._free_at = now + gap


def _postgres_engine(rest: str) -> Engine:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise BackendUnavailable(
            "PostgreSQL support is not installed: pip install 'mloop[postgres]'"
        ) from None
    return sa.create_engine(sqlalchemy_url(f"postgresql://{rest}"), pool_pre_ping=True)


def sqlalchemy_url(uri: str) -> str:
    """The SQLAlchemy URL of a store URI (PostgreSQL through psycopg 3)."""
    if store_scheme(uri) == "postgresql":
        return "postgresql+psycopg://" + uri.partition("://")[2]
    return uri
