"""The content-addressed blob store: bytes in, digest out; digest in, verified bytes out.

:class:`BlobStore` hashes before it writes (so identical content is stored once,
across everything) and re-hashes on every read (so altered bytes are refused,
never returned). It works on any :class:`~mloop.blobs.backends.Backend`.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from mloop.blobs.backends import Backend, backend_for
from mloop.blobs.backends.local import QUARANTINE
from mloop.blobs.digest import Digest, hash_bytes, hash_file
from mloop.blobs.hashcache import HashCache
from mloop.blobs.ingest import SILENT, Progress, ingest
from mloop.blobs.manifest import Manifest, ManifestEntry, local_file, walk_files
from mloop.errors import IntegrityError, InvalidArgument, NotFound

_THREADS = 8


class BlobInfo(NamedTuple):
    """A stored object as listed: its digest, size in bytes and modification time."""

    digest: Digest
    size: int
    mtime: float | None


class BlobStore:
    """Immutable blobs named by the blake3 digest of their bytes."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def put_bytes(self, data: bytes | bytearray | memoryview) -> Digest:
        """Store ``data`` (unless it is stored already) and return its digest."""
        digest = hash_bytes(data)
        if self.backend.exists([digest.hex]):
            self.backend.touch([digest.hex])  # a deduplicated write is a fresh use
        else:
            self.backend.put_bytes(digest.hex, bytes(data))
        return digest

    def put_file(self, path: str | os.PathLike[str]) -> Digest:
        """Store a copy of the file at ``path`` (unless it is stored already).

        Raises Conflict if the file changed while it was stored: its bytes would
        no longer match the digest computed first.
        """
        path = Path(path)
        if path.is_dir():
            raise InvalidArgument(f"cannot hash {path}: it is a directory")
        try:
            return ingest(self.backend, [local_file("file", path)]).entries[0].digest
        except FileNotFoundError:
            raise NotFound(f"cannot store {path}: no such file") from None

    def get_bytes(self, digest: Digest) -> bytes:
        """The bytes of ``digest``, verified: IntegrityError if they were altered."""
        data = self.backend.get_bytes(digest.hex)
        if hash_bytes(data) != digest:
            raise self._corrupted(digest)
        return data

    def get_file(self, digest: Digest, dest: str | os.PathLike[str]) -> None:
        """Write the bytes of ``digest`` to the file ``dest``, verified.

        The bytes go to a temporary file beside ``dest`` that is renamed over
        ``dest`` only once its hash matches, so ``dest`` never holds wrong bytes.
        ``dest`` is an independent file (a reflink where the filesystem has them).
        """
        self._fetch(digest, Path(dest), stamp=False)

    def _fetch(self, digest: Digest, dest: Path, *, stamp: bool) -> None:
        """:meth:`get_file`; with ``stamp``, ``dest`` gets the local object's modification
        time, as a hardlink would have (so the hash cache can trust it at once)."""
        if dest.is_dir():
            raise InvalidArgument(f"cannot write blob {digest.short} to {dest}: it is a folder")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".mloop-tmp-{uuid.uuid4().hex}"
        try:
            self.backend.download(digest.hex, tmp)
            if hash_file(tmp) != digest:
                raise self._corrupted(digest)
            source = self.backend.local_path(digest.hex) if stamp else None
            if source is not None:
                mtime = source.stat().st_mtime_ns
                os.utime(tmp, ns=(mtime, mtime))
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def exists(self, digests: Iterable[Digest]) -> set[Digest]:
        """The subset of ``digests`` that are stored."""
        wanted = {digest.hex: digest for digest in digests}
        return {wanted[key] for key in self.backend.exists(wanted)}

    def delete(self, digests: Iterable[Digest]) -> None:
        """Remove ``digests``; those not stored are ignored. Prefer :func:`collect_garbage`."""
        self.backend.delete(digest.hex for digest in digests)

    def iter_objects(self) -> Iterator[BlobInfo]:
        """Every complete stored object, in no particular order."""
        for key, size, mtime in self.backend.iter_objects():
            yield BlobInfo(Digest(key), size, mtime)

    def iter_digests(self) -> Iterator[Digest]:
        """The digest of every complete stored object, in no particular order."""
        return (info.digest for info in self.iter_objects())

    def verify(self, digest: Digest) -> bool:
        """Hash the stored bytes of ``digest`` again; False (after moving a local object
        aside, as a read does) when they no longer match. NotFound when it is not stored."""
        source = self.backend.local_path(digest.hex)
        if source is not None:
            try:
                actual = hash_file(source)
            except NotFound:
                self.backend.get_bytes(digest.hex)  # raises the backend's NotFound, which says why
                raise
        else:
            with tempfile.TemporaryDirectory(prefix="mloop-verify-") as folder:
                copy = Path(folder) / "blob"
                self.backend.download(digest.hex, copy)
                actual = hash_file(copy)
        if actual != digest:
            self._corrupted(digest)
            return False
        return True

    def quarantined(self, digest: Digest) -> Path | None:
        """Where a local object of ``digest`` found corrupted was moved, if it was."""
        source = self.backend.local_path(digest.hex)
        if source is None:
            return None
        aside = _quarantine(source, digest)
        return aside if aside.exists() else None

    def local_path(self, digest: Digest) -> Path | None:
        """The file holding ``digest`` when the store is a local folder, else None.

        For hardlinking or copying without a download. The file is NOT verified
        and must not be modified; use :meth:`get_file` for a checked copy.
        """
        path = self.backend.local_path(digest.hex)
        if path is not None and not path.is_file():
            self.backend.get_bytes(digest.hex)  # raises the backend's NotFound, which says why
        return path

    def put_tree(self, folder: str | os.PathLike[str]) -> Digest:
        """Store every file under ``folder`` and its manifest; return the manifest's digest."""
        return self.put_manifest(self.put_files(folder))

    def put_manifest(self, manifest: Manifest) -> Digest:
        """Store ``manifest`` itself (its files must be stored already)."""
        return self.put_bytes(manifest.to_bytes())

    def put_files(
        self,
        folder: str | os.PathLike[str],
        *,
        cache: HashCache | None = None,
        progress: Progress | None = None,
    ) -> Manifest:
        """Store every file under ``folder``; return their manifest (not stored itself).

        Empty folders are not recorded. Only files missing from the store are
        written; ``cache`` skips hashing unchanged files; ``progress`` is told
        (bytes, files) as they are done.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise InvalidArgument(f"cannot store {folder} as a folder: not a directory")
        return ingest(self.backend, walk_files(folder), cache=cache, progress=progress)

    def get_manifest(self, digest: Digest) -> Manifest:
        """The verified manifest stored as ``digest``."""
        try:
            return Manifest.from_bytes(self.get_bytes(digest))
        except InvalidArgument as exc:
            raise InvalidArgument(f"blob {digest}: {exc}") from None

    def checkout_tree(self, digest: Digest, dest: str | os.PathLike[str]) -> Manifest:
        """Recreate the folder of manifest ``digest`` at ``dest``, every file verified.

        Files of the manifest replace same-named files in ``dest``; other files
        there are left alone. Returns the manifest.
        """
        manifest = self.get_manifest(digest)
        self.checkout_manifest(manifest, dest)
        return manifest

    def checkout_manifest(
        self,
        manifest: Manifest,
        dest: str | os.PathLike[str],
        *,
        link: bool = False,
        progress: Progress | None = None,
    ) -> None:
        """Write the files of ``manifest`` under ``dest``, verified; nothing escapes ``dest``.

        Each file is an independent copy, safe to write to: a reflink where the
        filesystem has them (see :func:`~mloop.blobs.backends.local.copy_file`),
        else a copy; from a local store it keeps the stored object's modification
        time. With ``link``, files of a local store are hardlinked where the
        filesystem allows, else copied: instant, but a hardlink IS the stored
        object, so writing to it (root ignores its read-only mode) corrupts the
        store; for readers only. A corrupted blob raises IntegrityError naming the
        file of the manifest.
        """
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        targets = [_target(dest, entry.path) for entry in manifest.entries]
        report = progress or SILENT
        report.start(manifest.size, len(manifest.entries))

        def write(entry: ManifestEntry, target: Path) -> None:
            self._checkout_file(entry, target, link=link)
            report.advance(entry.size, 1)

        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(write, manifest.entries, targets))

    def _checkout_file(self, entry: ManifestEntry, target: Path, *, link: bool) -> None:
        try:
            if not (link and self._link(entry.digest, target)):
                self._fetch(entry.digest, target, stamp=True)
        except IntegrityError as exc:
            raise IntegrityError(f"cannot read {entry.path}: {exc}") from None
        if target.stat().st_size != entry.size:
            raise IntegrityError(
                f"manifest says {entry.path} has {entry.size} bytes but blob "
                f"{entry.digest} has {target.stat().st_size}; the manifest is corrupted"
            )

    def _corrupted(self, digest: Digest) -> IntegrityError:
        """The error for a blob whose bytes changed; a local one is moved aside first,
        so that storing the original content again repairs the store."""
        problem = (
            f"blob {digest} in {self.backend.url} is corrupted: "
            "its bytes no longer hash to its digest"
        )
        source = self.backend.local_path(digest.hex)
        if source is None:
            return IntegrityError(
                f"{problem}; restore it from a backup or store the original content again"
            )
        aside = _quarantine(source, digest)
        try:
            aside.parent.mkdir(exist_ok=True)
            os.replace(source, aside)
        except OSError:
            return IntegrityError(
                f"{problem}; delete {source}, then store the original content again"
            )
        return IntegrityError(
            f"{problem}; it was moved to {aside}: store the original content again "
            "(add the data or log the artifact again) to repair it, or restore it from a backup"
        )

    def _link(self, digest: Digest, target: Path) -> bool:
        """Hardlink the verified local object of ``digest`` to ``target``; False if impossible."""
        source = self.local_path(digest)
        if source is None:
            return False
        if hash_file(source) != digest:
            raise self._corrupted(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".mloop-tmp-{uuid.uuid4().hex}"
        try:
            os.link(source, tmp)
            os.replace(tmp, target)
        except OSError:  # another filesystem, too many links, not permitted: copy instead
            tmp.unlink(missing_ok=True)
            return False
        return True


def open_blobs(root: str | Path, storage_options: Mapping[str, Any] | None = None) -> BlobStore:
    """The blob store at ``root``: a local path, ``file://...``, ``s3://bucket/prefix``, ...

    ``storage_options`` go to the fsspec filesystem (for S3: key, secret,
    client_kwargs={"endpoint_url": ...}).
    """
    return BlobStore(backend_for(root, storage_options))


def _quarantine(source: Path, digest: Digest) -> Path:
    """root/quarantine/<digest>, for the object at root/ab/cdef..."""
    return source.parent.parent / QUARANTINE / digest.hex


def _target(dest: Path, entry_path: str) -> Path:
    """Where ``entry_path`` goes under ``dest``; refuses anything that escapes ``dest``.

    Entry paths were checked already; this also catches symlinks inside
    ``dest`` that point elsewhere, before any folder is created through them.
    """
    target = dest.joinpath(*entry_path.split("/"))
    if not target.parent.resolve().is_relative_to(dest.resolve()):
        raise InvalidArgument(
            f"manifest entry {entry_path!r} would be written outside {dest} "
            "(through a symlink); refusing"
        )
    return target
