"""Garbage collection: find (and optionally delete) blobs nothing refers to.

The caller names what is alive: ``roots`` are blobs referenced directly,
``trees`` are manifests whose files are referenced too. Everything else is
garbage, except objects younger than ``min_age``: a writer stores its blobs
before it records them, so a fresh unreferenced blob may be about to become
referenced. Writes in progress are never seen (they are not complete objects).
Objects whose age the backend cannot tell count as old.

Writes that were killed midway (a ``data add`` ended by SIGKILL or a lost node)
leave temporary files in the store (``.tmp-*``) and in the local caches'
staging folders; a collection removes those older than ``min_age`` too: a
write in progress is younger.

Not covered: a writer that finds its blob already stored (dedup) and skips the
upload relies on that blob, whatever its age, until it records the reference.
Run a deleting collection when no writer is active, or with a ``min_age`` longer
than any write-then-record window.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from mloop.blobs.digest import Digest
from mloop.blobs.store import BlobStore

DEFAULT_MIN_AGE = timedelta(hours=1)

STAGING_PREFIXES = (".tmp-", ".mloop-tmp-", ".mloop-checkout-")
"""Names of writes in progress in mloop's local caches (staging folders, temporary files)."""


@dataclass(frozen=True, slots=True)
class GcReport:
    """What a collection found and whether it deleted it."""

    unreferenced: tuple[Digest, ...]
    """Garbage: stored, referenced by nothing, older than ``min_age``; sorted."""
    unreferenced_bytes: int
    """Total size of :attr:`unreferenced`."""
    too_recent: tuple[Digest, ...]
    """Unreferenced but younger than ``min_age``: kept in case a writer is about to use them."""
    referenced: int
    """Number of stored objects that are referenced."""
    deleted: bool
    """True when :attr:`unreferenced` were deleted, False for a dry run."""
    abandoned: tuple[str, ...] = ()
    """Temporary files of killed writes, older than ``min_age``: in the store (paths
    under its root) and in ``staging`` folders (absolute paths); sorted."""
    abandoned_bytes: int = 0


def collect_garbage(
    store: BlobStore,
    roots: Iterable[Digest],
    trees: Iterable[Digest],
    delete: bool = False,
    *,
    min_age: timedelta = DEFAULT_MIN_AGE,
    staging: Sequence[Path] = (),
) -> GcReport:
    """Report the unreferenced blobs of ``store``; delete them when ``delete`` is True.

    Abandoned temporary files are reported (and deleted) alike: the store's, and
    those named like :data:`STAGING_PREFIXES` directly inside the ``staging``
    folders (a cache of checkouts or extracted packages).

    Every manifest in ``trees`` is read (and verified) before anything is
    deleted, so a missing or corrupted manifest stops the collection with
    NotFound or IntegrityError instead of deleting the files it names.
    """
    live = set(roots)
    for tree in trees:
        live.add(tree)
        live.update(entry.digest for entry in store.get_manifest(tree).entries)
    cutoff = time.time() - min_age.total_seconds()
    garbage: list[tuple[Digest, int]] = []
    recent: list[Digest] = []
    referenced = 0
    for digest, size, mtime in store.iter_objects():
        if digest in live:
            referenced += 1
        elif mtime is not None and mtime > cutoff:
            recent.append(digest)
        else:
            garbage.append((digest, size))
    garbage.sort()
    if delete and garbage:
        store.delete(digest for digest, _ in garbage)
    abandoned = [(i.key, i.size) for i in store.backend.abandoned_writes(cutoff, delete=delete)]
    abandoned += abandoned_staging(staging, cutoff, delete=delete)
    return GcReport(
        unreferenced=tuple(digest for digest, _ in garbage),
        unreferenced_bytes=sum(size for _, size in garbage),
        too_recent=tuple(sorted(recent)),
        referenced=referenced,
        deleted=delete,
        abandoned=tuple(sorted(name for name, _ in abandoned)),
        abandoned_bytes=sum(size for _, size in abandoned),
    )


def abandoned_staging(
    folders: Sequence[Path], before: float, *, delete: bool
) -> list[tuple[str, int]]:
    """Staging files and folders older than ``before`` in ``folders``: (path, bytes)."""
    found = []
    for folder in folders:
        try:
            entries = [e for e in os.scandir(folder) if e.name.startswith(STAGING_PREFIXES)]
        except FileNotFoundError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_mtime >= before:
                    continue
                size = _size(Path(entry.path))
            except FileNotFoundError:  # finished (renamed) meanwhile
                continue
            if delete:
                _remove(Path(entry.path))
            found.append((entry.path, size))
    return found


def _size(path: Path) -> int:
    if not path.is_dir() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
