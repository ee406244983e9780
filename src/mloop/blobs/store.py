"""The content-addressed blob store: bytes in, digest out; digest in, verified bytes out.

:class:`BlobStore` hashes before it writes (so identical content is stored once,
across everything) and re-hashes on every read (so altered bytes are refused,
never returned). It works on any :class:`~mloop.blobs.backends.Backend`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from mloop.blobs.backends import Backend, backend_for
from mloop.blobs.digest import Digest, hash_bytes, hash_file
from mloop.blobs.manifest import Manifest, ManifestEntry, walk_files
from mloop.errors import Conflict, IntegrityError, InvalidArgument, NotFound

_THREADS = 8

_Fingerprint = tuple[int, int, int]


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
        before = _fingerprint(path)
        digest = hash_file(path)
        self._upload_missing({digest: path}, {path: before})
        return digest

    def _upload_missing(
        self, files: Mapping[Digest, Path], fingerprints: Mapping[Path, _Fingerprint]
    ) -> None:
        """Upload the files whose digest is not stored, checking they did not change."""
        present = self.exists(files)
        self.backend.touch(digest.hex for digest in present)  # deduplicated writes are fresh uses
        missing = [(digest, path) for digest, path in files.items() if digest not in present]
        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(lambda item: self.backend.put_file(item[0].hex, item[1]), missing))
        changed = [path for path, before in fingerprints.items() if _fingerprint(path) != before]
        if changed:
            uploaded = {path: digest for digest, path in missing}
            self.backend.delete(uploaded[path].hex for path in changed if path in uploaded)
            raise Conflict(
                f"{changed[0]} changed while it was being stored; nothing of it was "
                "stored, store it again once it is complete"
            )

    def get_bytes(self, digest: Digest) -> bytes:
        """The bytes of ``digest``, verified: IntegrityError if they were altered."""
        data = self.backend.get_bytes(digest.hex)
        if hash_bytes(data) != digest:
            raise _corrupted(digest, self.backend.url)
        return data

    def get_file(self, digest: Digest, dest: str | os.PathLike[str]) -> None:
        """Write the bytes of ``digest`` to the file ``dest``, verified.

        The bytes go to a temporary file beside ``dest`` that is renamed over
        ``dest`` only once its hash matches, so ``dest`` never holds wrong bytes.
        """
        dest = Path(dest)
        if dest.is_dir():
            raise InvalidArgument(f"cannot write blob {digest.short} to {dest}: it is a folder")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".mloop-tmp-{uuid.uuid4().hex}"
        try:
            self.backend.download(digest.hex, tmp)
            if hash_file(tmp) != digest:
                raise _corrupted(digest, self.backend.url)
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

    def local_path(self, digest: Digest) -> Path | None:
        """The file holding ``digest`` when the store is a local folder, else None.

        For hardlinking or copying without a download. The file is NOT verified
        and must not be modified; use :meth:`get_file` for a checked copy.
        """
        path = self.backend.local_path(digest.hex)
        if path is not None and not path.is_file():
            raise NotFound(f"blob {digest} is not in the blob store at {self.backend.url}")
        return path

    def put_tree(self, folder: str | os.PathLike[str]) -> Digest:
        """Store every file under ``folder`` and its manifest; return the manifest's digest."""
        return self.put_manifest(self.put_files(folder))

    def put_manifest(self, manifest: Manifest) -> Digest:
        """Store ``manifest`` itself (its files must be stored already)."""
        return self.put_bytes(manifest.to_bytes())

    def put_files(self, folder: str | os.PathLike[str]) -> Manifest:
        """Store every file under ``folder``; return their manifest (not stored itself).

        Empty folders are not recorded. Files are hashed in parallel, looked up in
        the store in one batch, and only the missing ones are uploaded.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise InvalidArgument(f"cannot store {folder} as a folder: not a directory")
        files = dict(walk_files(folder))
        fingerprints = {file: _fingerprint(file) for file in files.values()}
        with ThreadPoolExecutor(_THREADS) as pool:
            digests = dict(zip(files, pool.map(hash_file, files.values()), strict=True))
        self._upload_missing({digests[path]: file for path, file in files.items()}, fingerprints)
        entries = (
            ManifestEntry(path, digests[path], fingerprints[file][0])
            for path, file in files.items()
        )
        return Manifest.of(entries)

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

    def checkout_manifest(self, manifest: Manifest, dest: str | os.PathLike[str]) -> None:
        """Write the files of ``manifest`` under ``dest``, verified; nothing escapes ``dest``."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        targets = [_target(dest, entry.path) for entry in manifest.entries]
        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(self._checkout_file, manifest.entries, targets))

    def _checkout_file(self, entry: ManifestEntry, target: Path) -> None:
        self.get_file(entry.digest, target)
        if target.stat().st_size != entry.size:
            raise IntegrityError(
                f"manifest says {entry.path} has {entry.size} bytes but blob "
                f"{entry.digest} has {target.stat().st_size}; the manifest is corrupted"
            )


def open_blobs(root: str | Path, storage_options: Mapping[str, Any] | None = None) -> BlobStore:
    """The blob store at ``root``: a local path, ``file://...``, ``s3://bucket/prefix``, ...

    ``storage_options`` go to the fsspec filesystem (for S3: key, secret,
    client_kwargs={"endpoint_url": ...}).
    """
    return BlobStore(backend_for(root, storage_options))


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


def _fingerprint(path: Path) -> _Fingerprint:
    """Size, modification time and inode: what changes when a file is rewritten."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise NotFound(f"cannot store {path}: no such file") from None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def _corrupted(digest: Digest, url: str) -> IntegrityError:
    return IntegrityError(
        f"blob {digest} in {url} is corrupted: its bytes no longer hash to its digest; "
        "restore it from a backup or store the original content again"
    )
