"""Artifact paths inside a run, and moving artifact bytes in and out of the blob store."""

from __future__ import annotations

import posixpath
from pathlib import Path, PurePosixPath

from mloop.blobs import BlobStore, Digest
from mloop.errors import InvalidArgument, NotFound
from mloop.store.entities import ArtifactEntry

RESERVED = "_mloop"


def artifact_path(path: str, *, internal: bool = False) -> str:
    """Normalise a run-relative artifact path, refusing anything that could escape the run."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidArgument(f"artifact path must be a non-empty string, got {path!r}")
    if "\\" in path or "\x00" in path:
        raise InvalidArgument(f"artifact path {path!r} must use '/' and no NUL characters")
    if PurePosixPath(path).is_absolute() or (len(path) > 1 and path[1] == ":"):
        raise InvalidArgument(f"artifact path {path!r} must be relative to the run, not absolute")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArgument(f"artifact path {path!r} must not contain '..'")
    if not parts:
        raise InvalidArgument(f"artifact path {path!r} names no file")
    if parts[0] == RESERVED and not internal:
        raise InvalidArgument(
            f"artifact path {path!r}: the folder {RESERVED}/ is reserved for mloop"
        )
    return "/".join(parts)


def store_local(blobs: BlobStore, local: Path, path: str) -> ArtifactEntry:
    """Put a local file or folder into the blob store as the artifact ``path``."""
    if local.is_dir():
        digest = blobs.put_tree(local)
        size = sum(entry.size for entry in blobs.get_manifest(digest).entries)
        return ArtifactEntry(path, str(digest), size, is_dir=True)
    if local.is_file():
        return ArtifactEntry(path, str(blobs.put_file(local)), local.stat().st_size, is_dir=False)
    raise NotFound(f"cannot log {local}: no such file or folder")


def download(blobs: BlobStore, entries: list[ArtifactEntry], path: str, dest: Path) -> Path:
    """Write the artifact ``path`` (a file, a folder, or a file inside a folder) to ``dest``.

    An existing folder ``dest`` receives the artifact under its own name.
    """
    wanted = artifact_path(path, internal=True)
    target = dest / posixpath.basename(wanted) if dest.is_dir() else dest
    for entry in entries:
        if entry.path == wanted:
            _write(blobs, entry, target)
            return target
        if entry.is_dir and wanted.startswith(entry.path + "/"):
            inner = wanted.removeprefix(entry.path + "/")
            manifest = blobs.get_manifest(Digest(entry.digest))
            for item in manifest.entries:
                if item.path == inner:
                    blobs.get_file(item.digest, target)
                    return target
                if item.path.startswith(inner + "/"):
                    return _subtree(blobs, manifest.entries, inner, target)
    raise NotFound(f"the run has no artifact {wanted!r}")


def _write(blobs: BlobStore, entry: ArtifactEntry, target: Path) -> None:
    if entry.is_dir:
        blobs.checkout_tree(Digest(entry.digest), target)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        blobs.get_file(Digest(entry.digest), target)


def _subtree(blobs: BlobStore, items: object, inner: str, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for item in items:  # type: ignore[attr-defined]
        if item.path.startswith(inner + "/"):
            out = target / item.path.removeprefix(inner + "/")
            out.parent.mkdir(parents=True, exist_ok=True)
            blobs.get_file(item.digest, out)
    return target
