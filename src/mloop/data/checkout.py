"""Writing a dataset version's files to a folder, every byte verified.

A checkout goes to a temporary folder beside the destination and is renamed
into place only once every file is verified, so a corrupted blob leaves no
half-written destination behind.

Each file is an independent copy (a reflink where the filesystem has them), so
writing to a checkout never changes the store. Hardlinks (``link=True``) are
for readers only: a hardlink is the stored object itself.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

from mloop.blobs import BlobStore, Manifest
from mloop.blobs.digest import hash_file
from mloop.blobs.hashcache import CachedHash, Fingerprint, HashCache
from mloop.blobs.ingest import Progress
from mloop.blobs.manifest import walk_files
from mloop.errors import Conflict, InvalidArgument


def checkout(
    blobs: BlobStore,
    manifest: Manifest,
    dest: Path,
    *,
    link: bool = False,
    cache: HashCache | None = None,
    progress: Progress | None = None,
) -> Path:
    """Recreate ``manifest`` as the folder ``dest``, which must not exist or be empty.

    With ``cache``, the files written go into the hash cache: adding them again
    needs no hashing, and ``mloop fsck --repair`` can find them as a second copy.
    """
    if dest.exists() and not dest.is_dir():
        raise Conflict(f"cannot check out into {dest}: it is a file")
    if dest.is_dir() and any(dest.iterdir()):
        raise Conflict(
            f"cannot check out into {dest}: the folder is not empty; "
            "choose a new or empty folder (nothing was written)"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".mloop-checkout-{uuid.uuid4().hex}"
    started = time.time_ns()
    try:
        blobs.checkout_manifest(manifest, staging, link=link, progress=progress)
        if dest.is_dir():
            dest.rmdir()  # empty, checked above
        staging.rename(dest)
    finally:
        if staging.exists():
            remove(staging)
    if cache is not None:
        _record(cache, manifest, dest, started)
    return dest


def cached_checkout(blobs: BlobStore, manifest: Manifest, folder: Path, cache: HashCache) -> None:
    """Make ``folder`` hold exactly ``manifest``: kept if it does, else checked out again.

    The checked-out files go into the hash cache, so the next check is a stat per file.
    """
    if matches(folder, manifest, cache):
        return
    if folder.exists():
        remove(folder)
    try:
        checkout(blobs, manifest, folder, cache=cache)
    except Conflict:  # another process checked it out meanwhile
        if not matches(folder, manifest, cache):
            raise


def _record(cache: HashCache, manifest: Manifest, folder: Path, started: int) -> None:
    """Remember the digests of the files just checked out (verified while written).

    Only files whose modification time is older than the checkout are trusted
    (see ``RACY_NS``): copies from a local store keep the stored object's time.
    """
    digests = {entry.path: entry.digest for entry in manifest.entries}
    cache.record(
        CachedHash(file.path, Fingerprint.of(file.stat), started, digests[file.entry])
        for file in walk_files(folder.resolve())
        if file.entry in digests
    )


def matches(folder: Path, manifest: Manifest, cache: HashCache | None) -> bool:
    """Whether ``folder`` holds exactly the files of ``manifest`` (hashed, or cached hashes)."""
    if not folder.is_dir():
        return False
    try:
        files = {file.entry: file for file in walk_files(folder.resolve())}
    except (OSError, InvalidArgument):
        return False
    if set(files) != {entry.path for entry in manifest.entries}:
        return False
    prints = {file.path: Fingerprint.of(file.stat) for file in files.values()}
    known = cache.lookup(prints) if cache is not None else {}
    for entry in manifest.entries:
        path = files[entry.path].path
        if prints[path].size != entry.size:
            return False
        if known.get(path) != entry.digest and hash_file(path) != entry.digest:
            return False
    return True


def remove(folder: Path) -> None:
    """Remove a staging folder whose files may be read-only hardlinks."""
    shutil.rmtree(folder, ignore_errors=True)
