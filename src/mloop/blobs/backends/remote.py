"""Blobs on any fsspec filesystem (S3 is the one mloop tests and ships an extra for).

Object stores make a PUT all-or-nothing, so objects are written directly to
their key there; on other filesystems (SFTP, HDFS, ...) a write goes to a
temporary name first and is moved into place. Errors of the filesystem library
are translated here, at the seam, into mloop's error tree, with the store URL.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fsspec.core import url_to_fs

from mloop.blobs.backends import ObjectInfo, join_key, split_key
from mloop.blobs.backends.local import TMP_PREFIX
from mloop.errors import BackendUnavailable, MloopError, NotFound, PermissionDenied

# Schemes whose writes are atomic per object (a reader never sees half a PUT).
_OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})

# A shard with more of the wanted keys than this is listed once instead of
# probed key by key (on S3 a probe of a missing key costs two requests).
_PROBE_LIMIT = 2

_THREADS = 16


class FsspecBackend:
    """Objects under the fsspec URL ``url`` (``s3://bucket/prefix``, ...)."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.url = url.rstrip("/")
        self._scheme = url.partition("://")[0]
        with self._translate("open the blob store"):
            self._fs, root = url_to_fs(self.url, **dict(storage_options or {}))
        self._root: str = root.rstrip("/")

    def local_path(self, key: str) -> Path | None:
        return None

    def exists(self, keys: Iterable[str]) -> set[str]:
        by_shard: dict[str, list[str]] = defaultdict(list)
        for key in set(keys):
            by_shard[split_key(key)[0]].append(key)
        if not by_shard:
            return set()
        with self._translate("check for blobs"):
            self._fs.invalidate_cache()  # another client may have written meanwhile
            with ThreadPoolExecutor(min(_THREADS, len(by_shard))) as pool:
                found = pool.map(self._exists_in_shard, by_shard.keys(), by_shard.values())
                return set().union(*found)

    def put_file(self, key: str, src: Path) -> None:
        self._write(key, lambda path: self._fs.put_file(str(src), path))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda path: self._fs.pipe_file(path, data))

    def get_bytes(self, key: str) -> bytes:
        with self._translate("read a blob", key):
            data: bytes = self._fs.cat_file(self._path(key))
            return data

    def download(self, key: str, dest: Path) -> None:
        with self._translate("download a blob", key):
            self._fs.get_file(self._path(key), str(dest))

    def touch(self, keys: Iterable[str]) -> None:
        """Object stores cannot change an object's time: GC's grace counts from its first write."""

    def delete(self, keys: Iterable[str]) -> None:
        present = self.exists(keys)  # removing a missing path is an error in fsspec
        if present:
            with self._translate("delete blobs"):
                self._fs.rm([self._path(key) for key in sorted(present)])

    def iter_objects(self) -> Iterator[ObjectInfo]:
        with self._translate("list blobs"):
            self._fs.invalidate_cache()
            try:
                found: dict[str, dict[str, Any]] = self._fs.find(self._root, detail=True)
            except FileNotFoundError:  # nothing was ever written
                found = {}
        prefix = self._root + "/"
        for path, info in found.items():
            shard, _, name = path.removeprefix(prefix).partition("/")
            key = join_key(shard, name)
            if key is not None and info.get("type") != "directory":
                yield ObjectInfo(key, int(info["size"]), _mtime(info))

    def abandoned_writes(self, before: float, *, delete: bool) -> list[ObjectInfo]:
        if self._scheme in _OBJECT_STORES:
            return []  # written directly to their key: no temporary names
        with self._translate("list abandoned writes"):
            self._fs.invalidate_cache()
            try:
                found: dict[str, dict[str, Any]] = self._fs.find(self._root, detail=True)
            except FileNotFoundError:
                return []
            prefix = self._root + "/"
            stale = []
            for path, info in found.items():
                mtime = _mtime(info)
                name = path.rsplit("/", 1)[-1]
                if name.startswith(TMP_PREFIX) and (mtime is None or mtime < before):
                    stale.append(ObjectInfo(path.removeprefix(prefix), int(info["size"]), mtime))
            if delete and stale:
                self._fs.rm([prefix + info.key for info in stale])
        return stale

    def _path(self, key: str) -> str:
        shard, name = split_key(key)
        return f"{self._root}/{shard}/{name}"

    def _exists_in_shard(self, shard: str, keys: list[str]) -> set[str]:
        if len(keys) <= _PROBE_LIMIT:
            return {key for key in keys if self._fs.exists(self._path(key))}
        try:
            listed = self._fs.ls(f"{self._root}/{shard}", detail=False)
        except FileNotFoundError:
            return set()
        names = {path.rsplit("/", 1)[-1] for path in listed}
        return {key for key in keys if split_key(key)[1] in names}

    def _write(self, key: str, upload: Callable[[str], object]) -> None:
        path = self._path(key)
        with self._translate("write a blob"):
            if self._scheme in _OBJECT_STORES:
                upload(path)
                return
            tmp = f"{path.rsplit('/', 1)[0]}/{TMP_PREFIX}{uuid.uuid4().hex}"
            self._fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            try:
                upload(tmp)
                self._fs.mv(tmp, path)
            finally:
                if self._fs.exists(tmp):
                    self._fs.rm(tmp)

    @contextmanager
    def _translate(self, action: str, key: str | None = None) -> Iterator[None]:
        """Re-raise the filesystem library's errors as mloop errors naming the store."""
        try:
            yield
        except MloopError:
            raise
        except FileNotFoundError as exc:
            if key is not None:
                raise NotFound(f"blob {key} is not in the blob store at {self.url}") from None
            raise BackendUnavailable(
                f"cannot {action} at {self.url}: {exc}; does the bucket exist?"
            ) from exc
        except PermissionError as exc:
            raise PermissionDenied(
                f"cannot {action} at {self.url}: access denied ({exc}); "
                "check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or storage_options)"
            ) from exc
        except Exception as exc:
            raise BackendUnavailable(
                f"cannot {action} at {self.url}: {type(exc).__name__}: {exc}"
            ) from exc


def _mtime(info: Mapping[str, Any]) -> float | None:
    """The modification time in an fsspec ``info`` dict, whatever the filesystem calls it."""
    for field in ("LastModified", "mtime", "last_modified", "created"):
        value = info.get(field)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
    return None
