"""A local cache of file digests, so unchanged files are not hashed again.

An entry maps a file's absolute path to its digest, valid while the file's
size, modification time (ns) and inode are unchanged. Like git's index, an
entry is trusted only when the file's modification time was at least
:data:`RACY_NS` before the file was hashed: a file rewritten within the same
clock tick as its hashing could otherwise keep a stale digest.

The cache is a small SQLite file on the local machine (never shared): in a
workspace ``.mloop/cache/hashes.db``, else under ``$XDG_CACHE_HOME/mloop``.
Losing it costs only time; its contents never decide what is stored, only what
need not be hashed again.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from mloop.blobs.digest import Digest
from mloop.workspace import cache_root

RACY_NS = 1_000_000_000
"""A file modified this close to its hashing is hashed again next time."""

_CHUNK = 5000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS hashes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    hashed_ns INTEGER NOT NULL,
    digest TEXT NOT NULL
) WITHOUT ROWID
"""


class Fingerprint(NamedTuple):
    """What changes when a file is rewritten: size, modification time (ns), inode."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, stat: os.stat_result) -> Fingerprint:
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ino)


class CachedHash(NamedTuple):
    path: str
    fingerprint: Fingerprint
    hashed_ns: int
    """When hashing started (``time.time_ns()``), for the racy-file rule."""
    digest: Digest


def default_location(workspace: Path | None) -> Path:
    """Where the cache lives for ``workspace`` (or the user's cache folder without one)."""
    return cache_root(workspace) / "hashes.db"


class HashCache:
    """Digests of local files by path, valid while the file's fingerprint is unchanged."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def lookup(self, files: Mapping[str, Fingerprint]) -> dict[str, Digest]:
        """The cached digests of those ``files`` (absolute paths) whose fingerprint matches."""
        if not files:
            return {}
        found: dict[str, Digest] = {}
        names = list(files)
        with self._lock:
            conn = self._connect()
            for start in range(0, len(names), _CHUNK):
                chunk = names[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    "SELECT path, size, mtime_ns, inode, hashed_ns, digest FROM hashes "
                    f"WHERE path IN ({marks})",
                    chunk,
                ).fetchall()
                for name, size, mtime_ns, inode, hashed_ns, digest in rows:
                    trusted = mtime_ns + RACY_NS <= hashed_ns
                    if trusted and files[name] == (size, mtime_ns, inode):
                        found[name] = Digest(digest)
        return found

    def paths(self, digests: Collection[Digest]) -> dict[Digest, list[str]]:
        """The paths last seen holding each of ``digests`` (they may have changed since:
        hash them before use). For finding second copies; a full scan of the cache."""
        wanted = {digest.hex: digest for digest in digests}
        if not wanted:
            return {}
        found: dict[Digest, list[str]] = {}
        with self._lock:
            rows = self._connect().execute("SELECT path, digest FROM hashes").fetchall()
        for path, digest in rows:
            if digest in wanted:
                found.setdefault(wanted[digest], []).append(path)
        return found

    def record(self, entries: Iterable[CachedHash]) -> None:
        """Remember digests (not those of racy files: they would not be trusted)."""
        rows = [
            (e.path, *e.fingerprint, e.hashed_ns, e.digest.hex)
            for e in entries
            if e.fingerprint.mtime_ns + RACY_NS <= e.hashed_ns
        ]
        if not rows:
            return
        with self._lock:
            conn = self._connect()
            with conn:
                conn.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?)", rows)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.location.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._conn = _open(self.location)
            except sqlite3.DatabaseError:  # damaged: rebuilt, never trusted
                self.location.unlink(missing_ok=True)
                self._conn = _open(self.location)
        return self._conn


def _open(location: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(location, timeout=30, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")  # a lost cache costs time, not data
        conn.execute(_SCHEMA)
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return conn
