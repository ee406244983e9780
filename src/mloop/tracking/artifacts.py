"""Artifact paths inside a run, and moving artifact bytes in and out of the blob store."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mloop.blobs import BlobStore, Digest, Manifest, ManifestEntry
from mloop.errors import InvalidArgument, NotFound, PermissionDenied
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
        manifest = blobs.put_files(local)
        return ArtifactEntry(path, str(blobs.put_manifest(manifest)), manifest.size, is_dir=True)
    if local.is_file():
        return ArtifactEntry(path, str(blobs.put_file(local)), local.stat().st_size, is_dir=False)
    raise NotFound(f"cannot log {local}: no such file or folder")


def store_bytes(blobs: BlobStore, content: bytes, path: str) -> ArtifactEntry:
    """Put ``content`` into the blob store as the file artifact ``path``."""
    return ArtifactEntry(path, str(blobs.put_bytes(content)), len(content), is_dir=False)


@dataclass(frozen=True, slots=True)
class _File:
    digest: Digest


@dataclass(frozen=True, slots=True)
class _Folder:
    manifest: Manifest


def download(
    blobs: BlobStore, entries: list[ArtifactEntry], wanted: str, dest: Path, *, into: bool = False
) -> Path:
    """Write the artifact ``wanted`` (a file, a folder, or a file inside a folder) to ``dest``.

    With ``into``, or when ``dest`` is an existing folder, the artifact goes inside
    ``dest`` under its own name. Every byte is verified against its digest.
    """
    found = _find(blobs, entries, wanted)
    target = dest / posixpath.basename(wanted) if into or dest.is_dir() else dest
    if target != dest and target.is_symlink():
        raise InvalidArgument(f"refusing to write {wanted!r} through the symlink {target}")
    try:
        _write(blobs, found, wanted, target)
    except PermissionError:
        raise PermissionDenied(f"cannot write {target}: permission denied") from None
    except OSError as exc:
        raise InvalidArgument(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def _write(blobs: BlobStore, found: _File | _Folder, wanted: str, target: Path) -> None:
    if isinstance(found, _Folder):
        if target.exists() and not target.is_dir():
            raise InvalidArgument(
                f"cannot write the folder artifact {wanted!r} to {target}: a file"
            )
        blobs.checkout_manifest(found.manifest, target)
        return
    if target.is_dir():
        raise InvalidArgument(f"cannot write the file artifact {wanted!r} to {target}: a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    blobs.get_file(found.digest, target)


def _find(blobs: BlobStore, entries: list[ArtifactEntry], wanted: str) -> _File | _Folder:
    for entry in entries:
        if entry.path == wanted:
            digest = Digest(entry.digest)
            return _Folder(blobs.get_manifest(digest)) if entry.is_dir else _File(digest)
        if entry.is_dir and wanted.startswith(entry.path + "/"):
            found = _inside(blobs.get_manifest(Digest(entry.digest)), wanted[len(entry.path) + 1 :])
            if found is not None:
                return found
    raise NotFound(f"the run has no artifact {wanted!r}")


def _inside(manifest: Manifest, inner: str) -> _File | _Folder | None:
    """The file ``inner`` of a logged folder, or its sub-folder re-rooted as a manifest."""
    below = []
    for item in manifest.entries:
        if item.path == inner:
            return _File(item.digest)
        if item.path.startswith(inner + "/"):
            below.append(ManifestEntry(item.path[len(inner) + 1 :], item.digest, item.size))
    return _Folder(Manifest.of(below)) if below else None
