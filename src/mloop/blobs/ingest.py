"""Storing many local files fast: the engine behind ``BlobStore.put_files``.

Small files are read once: hashed from memory and, when missing from the
store, written from the same bytes, in batches (one ``exists`` call per
batch). Large files are hashed on all cores through mmap and copied inside
the kernel. A :class:`~mloop.blobs.hashcache.HashCache` skips hashing files
whose size, mtime and inode are unchanged, as long as their blob is still
stored. A file that changes while it is stored is refused (Conflict); the
bytes stored under a digest are always the bytes that were hashed.
"""

from __future__ import annotations

import mmap
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import blake3

from mloop.blobs.backends import Backend
from mloop.blobs.digest import Digest, hash_bytes
from mloop.blobs.hashcache import CachedHash, Fingerprint, HashCache
from mloop.blobs.manifest import LocalFile, Manifest, ManifestEntry
from mloop.errors import Conflict, NotFound


class Progress(Protocol):
    """Told the size of the work, then each piece done; ``advance`` may be called from threads."""

    def start(self, total_bytes: int, total_files: int) -> None: ...

    def advance(self, done_bytes: int, done_files: int) -> None: ...


class _Silent:
    def start(self, total_bytes: int, total_files: int) -> None:
        return None

    def advance(self, done_bytes: int, done_files: int) -> None:
        return None


SILENT: Progress = _Silent()

LARGE = 8 << 20
"""Files from this size on are hashed through mmap and copied rather than read into memory."""

_BATCH_BYTES = 64 << 20
_BATCH_FILES = 2048
_THREADS = 2
_SLICE = 256 << 20  # large files report progress every this many bytes


@dataclass(frozen=True, slots=True)
class _Item:
    entry: str
    path: str
    """Absolute: the hash cache's key."""
    fingerprint: Fingerprint


def ingest(
    backend: Backend,
    files: Iterable[LocalFile],
    *,
    cache: HashCache | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Store ``files`` and return their manifest (not stored itself)."""
    items = [_Item(f.entry, os.path.abspath(f.path), Fingerprint.of(f.stat)) for f in files]
    report = progress or SILENT
    report.start(sum(item.fingerprint.size for item in items), len(items))
    digests = _reuse_cached(backend, items, cache, report)
    started = time.time_ns()
    todo = [item for item in items if item.entry not in digests]
    for batch in _batches([item for item in todo if item.fingerprint.size < LARGE]):
        digests.update(_store_small(backend, batch, report))
    for item in (item for item in todo if item.fingerprint.size >= LARGE):
        digests[item.entry] = _store_large(backend, item, report)
    if cache is not None:
        cache.record(
            CachedHash(item.path, item.fingerprint, started, digests[item.entry]) for item in todo
        )
    return Manifest.of(
        ManifestEntry(item.entry, digests[item.entry], item.fingerprint.size) for item in items
    )


def _reuse_cached(
    backend: Backend, items: list[_Item], cache: HashCache | None, report: Progress
) -> dict[str, Digest]:
    """Digests from the cache for unchanged files whose blob is still stored."""
    if cache is None:
        return {}
    known = cache.lookup({item.path: item.fingerprint for item in items})
    stored = backend.exists(digest.hex for digest in known.values())
    backend.touch(stored)  # a deduplicated write is a fresh use (gc's grace period)
    reused = {}
    for item in items:
        digest = known.get(item.path)
        if digest is not None and digest.hex in stored:
            reused[item.entry] = digest
            report.advance(item.fingerprint.size, 1)
    return reused


def _batches(items: list[_Item]) -> Iterator[list[_Item]]:
    batch: list[_Item] = []
    size = 0
    for item in items:
        batch.append(item)
        size += item.fingerprint.size
        if size >= _BATCH_BYTES or len(batch) >= _BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _store_small(backend: Backend, batch: list[_Item], report: Progress) -> dict[str, Digest]:
    """Read, hash and write a batch; each thread takes a slice (a task per file costs more)."""
    slices = [batch[start::_THREADS] for start in range(_THREADS)]
    with ThreadPoolExecutor(_THREADS) as pool:
        read = [pair for part in pool.map(_read_all, slices) for pair in part]
        stored = backend.exists(digest.hex for _, _, digest in read)
        backend.touch(stored)
        missing = {digest.hex: data for _, data, digest in read if digest.hex not in stored}
        keys = list(missing)
        list(
            pool.map(
                lambda part: _write_all(backend, part, missing),
                (keys[i::_THREADS] for i in range(_THREADS)),
            )
        )
    for item in batch:
        report.advance(item.fingerprint.size, 1)
    return {item.entry: digest for item, _, digest in read}


def _read_all(items: list[_Item]) -> list[tuple[_Item, bytes, Digest]]:
    found = []
    for item in items:
        data = _read(item)
        found.append((item, data, hash_bytes(data)))
    return found


def _write_all(backend: Backend, keys: list[str], contents: dict[str, bytes]) -> None:
    for key in keys:
        backend.put_bytes(key, contents[key])


def _read(item: _Item) -> bytes:
    """The bytes of a small file, refused if it changed since it was listed."""
    try:
        with open(item.path, "rb") as file:
            data = file.read()
            now = Fingerprint.of(os.fstat(file.fileno()))
    except FileNotFoundError:
        raise NotFound(f"cannot store {item.path}: it was deleted while being stored") from None
    if now != item.fingerprint or len(data) != now.size:
        raise _changed(item.path)
    return data


def _store_large(backend: Backend, item: _Item, report: Progress) -> Digest:
    digest = _hash_large(item.path, report)
    if backend.exists([digest.hex]):
        backend.touch([digest.hex])
        uploaded = False
    else:
        backend.put_file(digest.hex, Path(item.path))
        uploaded = True
    if _fingerprint(item.path) != item.fingerprint:
        if uploaded:
            backend.delete([digest.hex])
        raise _changed(item.path)
    report.advance(0, 1)
    return digest


def _hash_large(path: str, report: Progress) -> Digest:
    """blake3 on all cores through mmap, reporting progress slice by slice."""
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view:
        for start in range(0, len(view), _SLICE):
            chunk = memoryview(view)[start : start + _SLICE]
            hasher.update(chunk)
            chunk.release()
            report.advance(min(_SLICE, len(view) - start), 0)
    return Digest(hasher.hexdigest())


def _fingerprint(path: str) -> Fingerprint:
    try:
        return Fingerprint.of(os.stat(path))
    except FileNotFoundError:
        raise NotFound(f"cannot store {path}: no such file") from None


def _changed(path: str) -> Conflict:
    return Conflict(
        f"{path} changed while it was being stored; nothing of it was recorded, "
        "store it again once it is complete"
    )
