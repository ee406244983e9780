"""Garbage collection: find (and optionally delete) blobs nothing refers to.

The caller names what is alive: ``roots`` are blobs referenced directly,
``trees`` are manifests whose files are referenced too. Everything else is
garbage, except objects younger than ``min_age``: a writer stores its blobs
before it records them, so a fresh unreferenced blob may be about to become
referenced. Writes in progress are never seen (they are not complete objects).
Objects whose age the backend cannot tell count as old.

Not covered: a writer that finds its blob already stored (dedup) and skips the
upload relies on that blob, whatever its age, until it records the reference.
Run a deleting collection when no writer is active, or with a ``min_age`` longer
than any write-then-record window.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from mloop.blobs.digest import Digest
from mloop.blobs.store import BlobStore

DEFAULT_MIN_AGE = timedelta(hours=1)


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


def collect_garbage(
    store: BlobStore,
    roots: Iterable[Digest],
    trees: Iterable[Digest],
    delete: bool = False,
    *,
    min_age: timedelta = DEFAULT_MIN_AGE,
) -> GcReport:
    """Report the unreferenced blobs of ``store``; delete them when ``delete`` is True.

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
    return GcReport(
        unreferenced=tuple(digest for digest, _ in garbage),
        unreferenced_bytes=sum(size for _, size in garbage),
        too_recent=tuple(sorted(recent)),
        referenced=referenced,
        deleted=delete,
    )
