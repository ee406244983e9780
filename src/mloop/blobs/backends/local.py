"""Blobs in a local folder: ``root/ab/cdef...``.

Objects are written to a temporary file in their shard folder and renamed into
place with :func:`os.replace`, so a reader never sees a partial object and two
writers of the same object simply replace identical bytes. Objects are made
read-only, a guard against someone editing a file they hardlinked from the store
(no guard for root, which ignores the mode: see :func:`copy_file` for copies that
are safe to write).
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from mloop.blobs.backends import ObjectInfo, join_key, split_key
from mloop.errors import BackendUnavailable, NotFound, PermissionDenied

QUARANTINE = "quarantine"
"""Folder under the root where corrupted objects are moved, so a repair can store them anew."""

TMP_PREFIX = ".tmp-"
"""Names of writes in progress; they never match an object name."""

# copy_file_range cannot copy between these two files: fall back to read/write.
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EPERM}

# Linux's FICLONE ioctl, _IOW(0x94, 9, int); the fcntl module names it from Python 3.12.
_FICLONE = getattr(fcntl, "FICLONE", 0x40049409) if sys.platform == "linux" else None
# FICLONE cannot clone these two files (no reflinks here, two filesystems, ...): copy.
_NO_CLONE = {
    errno.EOPNOTSUPP,
    errno.ENOTTY,
    errno.EXDEV,
    errno.EINVAL,
    errno.ENOSYS,
    errno.EPERM,
    errno.EBADF,
    errno.ETXTBSY,
}


class LocalBackend:
    """Objects stored as files under ``root``, which is created on the first write."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser()
        self._root = str(self.root)
        self._shards: set[str] = set()

    @property
    def url(self) -> str:
        return str(self.root)

    def local_path(self, key: str) -> Path:
        shard, name = split_key(key)
        return self.root / shard / name

    def exists(self, keys: Iterable[str]) -> set[str]:
        return {key for key in set(keys) if os.path.isfile(self._file(key))}

    def put_file(self, key: str, src: Path) -> None:
        self._write(key, lambda tmp: copy_file(src, tmp))

    def put_bytes(self, key: str, data: bytes) -> None:
        """The hot path for many small blobs: four syscalls, no pathlib."""
        final = self._file(key)
        shard = os.path.dirname(final)
        tmp = f"{shard}/{TMP_PREFIX}{uuid.uuid4().hex}"
        with self._writing():
            if shard not in self._shards:
                os.makedirs(shard, exist_ok=True)
                self._shards.add(shard)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
            try:
                with open(fd, "wb", closefd=True) as out:
                    out.write(data)
                os.replace(tmp, final)
            except BaseException:
                with suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise

    def get_bytes(self, key: str) -> bytes:
        with self._reading(key):
            return self.local_path(key).read_bytes()

    def download(self, key: str, dest: Path) -> None:
        with self._reading(key):
            copy_file(self.local_path(key), dest)

    def touch(self, keys: Iterable[str]) -> None:
        for key in keys:
            with suppress(FileNotFoundError):
                os.utime(self._file(key))

    def _file(self, key: str) -> str:
        """``local_path`` as text, without pathlib's cost (hot in large batches)."""
        return f"{self._root}/{key[:2]}/{key[2:]}"

    def delete(self, keys: Iterable[str]) -> None:
        with self._writing():
            for key in set(keys):
                self.local_path(key).unlink(missing_ok=True)

    def iter_objects(self) -> Iterator[ObjectInfo]:
        for shard in _folders(self.root):
            for entry in _entries(shard):
                key = join_key(shard.name, entry.name)
                if key is None:  # a temporary file or something foreign
                    continue
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:  # deleted while we looked
                    continue
                yield ObjectInfo(key, stat.st_size, stat.st_mtime)

    def abandoned_writes(self, before: float, *, delete: bool) -> list[ObjectInfo]:
        found = []
        for shard in _folders(self.root):
            for entry in _entries(shard):
                if not entry.name.startswith(TMP_PREFIX):
                    continue
                with suppress(FileNotFoundError):  # finished or removed meanwhile
                    stat = entry.stat(follow_symlinks=False)
                    if stat.st_mtime < before:
                        if delete:
                            os.unlink(entry.path)
                        key = f"{shard.name}/{entry.name}"
                        found.append(ObjectInfo(key, stat.st_size, stat.st_mtime))
        return found

    def _write(self, key: str, fill: Callable[[Path], object]) -> None:
        dest = self.local_path(key)
        tmp = dest.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        with self._writing():
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                fill(tmp)
                tmp.chmod(0o444)
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)

    @contextmanager
    def _reading(self, key: str) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            if self.local_path(key).exists():
                raise  # the missing file was not the object
            aside = self.root / QUARANTINE / key
            if aside.exists():
                raise NotFound(
                    f"blob {key} was found corrupted and moved to {aside}: store the original "
                    "content again to repair it, or restore it from a backup"
                ) from None
            raise NotFound(f"blob {key} is not in the blob store at {self.root}") from None

    @contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except PermissionError as exc:
            raise PermissionDenied(
                f"cannot write to the blob store at {self.root}: {exc.strerror} ({exc.filename})"
            ) from exc
        except OSError as exc:
            raise BackendUnavailable(
                f"cannot write to the blob store at {self.root}: {exc.strerror or exc}"
            ) from exc


def _folders(root: Path) -> list[os.DirEntry[str]]:
    """The shard folders (and quarantine) under ``root``; none before the first write."""
    try:
        with os.scandir(root) as entries:
            return [entry for entry in entries if entry.is_dir()]
    except FileNotFoundError:
        return []


def _entries(folder: os.DirEntry[str]) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder.path) as entries:
            return list(entries)
    except FileNotFoundError:  # removed meanwhile
        return []


def copy_file(src: Path, dest: Path) -> bool:
    """Copy the bytes of ``src`` to ``dest`` as cheaply as the filesystem allows; True
    when ``dest`` is a reflink (a copy-on-write clone sharing the blocks of ``src``).

    Whatever the path, ``dest`` is an independent file: writing to one never
    changes the other, unlike a hardlink. In order:

    1. ``ioctl(FICLONE)`` (Linux): a reflink on Btrfs, XFS (reflink=1, the
       default since xfsprogs 5.1), bcachefs or OCFS2, instant whatever the size.
       All or nothing: it clones the whole file or fails, and says which.
    2. ``os.copy_file_range``: a copy inside the kernel (as fast as
       ``shutil.copyfile``'s sendfile on ext4, ~3.5 GB/s here) that NFS 4.2 and
       SMB turn into a server-side copy, and that since Linux 5.3 also clones on
       Btrfs and XFS when it can. It may fall back to copying bytes silently or
       stop short, which is why it is not relied on for the reflink: step 1 is.
    3. Whatever is left (no copy_file_range, or the file grew): a plain copy.
    """
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        if _clone(fin.fileno(), fout.fileno()):
            return True
        if hasattr(os, "copy_file_range"):  # Linux
            _copy_range(fin.fileno(), fout.fileno())
        fout.seek(fin.tell())
        shutil.copyfileobj(fin, fout, 1 << 20)
    return False


def _clone(fin: int, fout: int) -> bool:
    if _FICLONE is None:
        return False
    try:
        fcntl.ioctl(fout, _FICLONE, fin)
    except OSError as exc:
        if exc.errno not in _NO_CLONE:
            raise
        return False
    return True


def _copy_range(fin: int, fout: int) -> None:
    remaining = os.fstat(fin).st_size
    try:
        while remaining > 0:
            copied = os.copy_file_range(fin, fout, remaining)
            if copied == 0:
                return
            remaining -= copied
    except OSError as exc:
        if exc.errno not in _NO_COPY_RANGE:
            raise
