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


def download(
    blobs: BlobStore, entries: list[ArtifactEntry], wanted: str, dest: Path, *, into: bool = False
) -> Path:
    """Write the artifact ``wanted`` (a file, a folder, or a file inside a folder) to ``dest``.

    With ``into``, or when ``dest`` is an existing folder, the artifact goes inside
    ``dest`` under its own name. Every byte is verified against its digest.
    """
    digest, files = _find(blobs, entries, wanted)
    target = dest / posixpath.basename(wanted) if into or dest.is_dir() else dest
    if files is not None and target.exists() and not target.is_dir():
        raise InvalidArgument(f"cannot write the folder artifact {wanted!r} to {target}: a file")
    if files is None and target.is_dir():
        raise InvalidArgument(f"cannot write the file artifact {wanted!r} to {target}: a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    if digest is not None and files is None:
        blobs.get_file(digest, target)
    elif digest is not None:
        blobs.checkout_tree(digest, target)
    else:
        for relative, item in files or ():
            out = target / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            blobs.get_file(item, out)
    return target


Found = tuple[Digest | None, list[tuple[str, Digest]] | None]


def _find(blobs: BlobStore, entries: list[ArtifactEntry], wanted: str) -> Found:
    """(digest, None) for a file; (tree digest, []) for a logged folder; (None, files) for
    a folder inside a logged folder."""
    for entry in entries:
        if entry.path == wanted:
            return Digest(entry.digest), ([] if entry.is_dir else None)
        if entry.is_dir and wanted.startswith(entry.path + "/"):
            inner = wanted.removeprefix(entry.path + "/")
            items = blobs.get_manifest(Digest(entry.digest)).entries
            for item in items:
                if item.path == inner:
                    return item.digest, None
            below = [
                (item.path.removeprefix(inner + "/"), item.digest)
                for item in items
                if item.path.startswith(inner + "/")
            ]
            if below:
                return None, below
    raise NotFound(f"the run has no artifact {wanted!r}")
