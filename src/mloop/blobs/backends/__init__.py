"""Where blob bytes live: the backend seam and the scheme registry.

A backend stores opaque objects under string keys (digest hex) at
``root/ab/cdef...`` and knows nothing about hashing or verification; that is
:class:`mloop.blobs.store.BlobStore`'s job. Two implementations exist: local
files (:mod:`.local`) and any fsspec filesystem (:mod:`.remote`), chosen from
the root's scheme by :func:`backend_for`. Remote backends are imported lazily so
``import mloop`` never needs s3fs.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from mloop.errors import BackendUnavailable, InvalidArgument

_SHARD = re.compile(r"[0-9a-f]{2}")
_REST = re.compile(r"[0-9a-f]{62}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")  # RFC 3986; else "://" is part of a path

# Extras that install the filesystem for a scheme, for the error message.
_EXTRAS = {"s3": "s3", "s3a": "s3"}


class ObjectInfo(NamedTuple):
    """One complete stored object."""

    key: str
    size: int
    mtime: float | None
    """Last modification, seconds since the epoch; None if the backend cannot tell."""


class Backend(Protocol):
    """Object storage keyed by digest hex strings.

    Writes are atomic (a reader sees the whole object or none) and idempotent
    (concurrent writers of one key are harmless, they write the same bytes).
    Reads of a missing key raise :class:`~mloop.errors.NotFound`.
    """

    @property
    def url(self) -> str:
        """Where the objects live, for messages."""
        ...

    def exists(self, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` that are stored."""
        ...

    def put_file(self, key: str, src: Path) -> None:
        """Store a copy of the file ``src`` under ``key``."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``."""
        ...

    def get_bytes(self, key: str) -> bytes:
        """The stored bytes of ``key``."""
        ...

    def download(self, key: str, dest: Path) -> None:
        """Write the stored bytes of ``key`` to the file ``dest`` (created or truncated)."""
        ...

    def touch(self, keys: Iterable[str]) -> None:
        """Mark stored objects as just written, where the backend can (GC's grace period)."""
        ...

    def delete(self, keys: Iterable[str]) -> None:
        """Remove ``keys``; keys that are not stored are ignored."""
        ...

    def iter_objects(self) -> Iterator[ObjectInfo]:
        """Every complete object (never a write in progress)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file that holds (or would hold) ``key`` on a local folder, else None."""
        ...

    def abandoned_writes(self, before: float, *, delete: bool) -> list[ObjectInfo]:
        """Temporary files of writes started before ``before`` (seconds since the epoch),
        left by a killed writer; removed when ``delete``. Keys are paths under the root."""
        ...


def split_key(key: str) -> tuple[str, str]:
    """``key`` as (shard folder, file name): the first 2 hex chars and the other 62."""
    return key[:2], key[2:]


def join_key(shard: str, name: str) -> str | None:
    """The key stored as ``shard/name``, or None if that is not an object's path."""
    if _SHARD.fullmatch(shard) and _REST.fullmatch(name):
        return shard + name
    return None


def backend_for(root: str | Path, storage_options: Mapping[str, Any] | None = None) -> Backend:
    """The backend for ``root``: a path or ``file://`` URL, or any fsspec ``scheme://``."""
    from mloop.blobs.backends.local import LocalBackend  # imports this module

    scheme, sep, rest = str(root).partition("://")
    if not sep or scheme == "file" or not _SCHEME.fullmatch(scheme):
        if storage_options:
            raise InvalidArgument(
                f"storage_options were given but {str(root)!r} is a local path; they are "
                "for remote stores such as s3://bucket/prefix (is the URL mistyped?)"
            )
        return LocalBackend(Path(rest) if scheme == "file" else Path(root))
    _require_filesystem(scheme, str(root))
    from mloop.blobs.backends.remote import FsspecBackend

    return FsspecBackend(str(root), storage_options)


def _require_filesystem(scheme: str, root: str) -> None:
    """Fail early, with what to install, when ``scheme`` cannot be used."""
    from fsspec.registry import known_implementations, registry

    spec = known_implementations.get(scheme)
    if spec is None and scheme in registry:
        return  # registered at runtime by the application
    if spec is None:
        popular = "s3://, gs://, az://, memory://"
        raise InvalidArgument(
            f"unknown blob store scheme {scheme + '://'!r} in {root!r}; use a local path, "
            f"file://, or an fsspec protocol such as {popular} "
            "(fsspec.available_protocols() lists them all)"
        )
    module = spec["class"].rsplit(".", 1)[0]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        extra = _EXTRAS.get(scheme)
        hint = (
            f"pip install 'mloop[{extra}]'"
            if extra
            else spec.get("err", f"install {module.split('.')[0]}")
        )
        raise BackendUnavailable(
            f"cannot open blob store {root!r}: {scheme}:// needs the {module.split('.')[0]} "
            f"package, which is not installed; {hint}"
        ) from exc
