"""Folder manifests: a folder's files as (relative path, digest, size) entries.

A manifest is itself stored as a blob, serialised as canonical JSON (sorted
entries, sorted keys, no optional whitespace), so the same folder content always
has the same manifest digest. Entry paths are checked on the way in and on the
way out: a manifest can only name files *inside* the folder it describes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from mloop.blobs.digest import Digest
from mloop.errors import InvalidArgument, MloopError

FORMAT = "mloop.manifest/1"


def check_entry_path(path: str) -> str:
    """``path`` if it is a clean relative posix path, else InvalidArgument.

    Refused: absolute paths, ``..`` and ``.`` parts, empty parts (``a//b``,
    trailing ``/``), backslashes (a separator on Windows), NUL, and bytes that are
    not UTF-8.
    """
    if not isinstance(path, str) or not path:
        raise InvalidArgument(f"manifest entry path must be a non-empty string, got {path!r}")
    utf8_name(path, path)
    if path.startswith("/"):
        raise InvalidArgument(f"manifest entry path {path!r} is absolute; paths are relative")
    if "\\" in path or "\x00" in path:
        raise InvalidArgument(
            f"manifest entry path {path!r} contains a backslash or NUL, which are not portable"
        )
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise InvalidArgument(
            f"manifest entry path {path!r} has an empty, '.' or '..' part; "
            "entries must stay inside their folder"
        )
    return path


def utf8_name(name: str, path: str | os.PathLike[str]) -> str:
    """``name`` (of the file at ``path``, or that path) if it is text; refused if it holds
    bytes that are not UTF-8 (Python keeps them as lone surrogates): no manifest, database
    or Parquet reader can take such a name."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise InvalidArgument(
            f"cannot store {shown}: a name in this path is not valid UTF-8, and mloop keeps "
            "names as text; rename it"
        ) from None
    return name


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file of a folder: where it goes, its content, its size in bytes."""

    path: str
    digest: Digest
    size: int

    def __post_init__(self) -> None:
        check_entry_path(self.path)
        if type(self.size) is not int or self.size < 0:
            raise InvalidArgument(f"manifest entry {self.path!r} has a bad size {self.size!r}")


@dataclass(frozen=True, slots=True)
class Manifest:
    """The files of a folder, sorted by path; build one with :meth:`of`."""

    entries: tuple[ManifestEntry, ...]

    def __post_init__(self) -> None:
        paths = [entry.path for entry in self.entries]
        if paths != sorted(paths):
            raise InvalidArgument("manifest entries must be sorted by path; use Manifest.of")
        _check_unique(paths)

    @classmethod
    def of(cls, entries: Iterable[ManifestEntry]) -> Manifest:
        """A manifest of ``entries`` in any order."""
        return cls(tuple(sorted(entries, key=lambda entry: entry.path)))

    @property
    def size(self) -> int:
        """Total bytes of the files."""
        return sum(entry.size for entry in self.entries)

    def to_bytes(self) -> bytes:
        """The canonical serialisation: equal manifests give equal bytes."""
        document = {
            "format": FORMAT,
            "entries": [
                {"path": entry.path, "digest": entry.digest.hex, "size": entry.size}
                for entry in self.entries
            ],
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse and check a manifest; InvalidArgument says what is wrong with it."""
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidArgument(f"not an mloop manifest: not JSON ({exc})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise InvalidArgument(f'not an mloop manifest: no "format": "{FORMAT}" field')
        raw = document.get("entries")
        if not isinstance(raw, list):
            raise InvalidArgument('not an mloop manifest: "entries" is not a list')
        return cls.of(_parse_entry(item) for item in raw)


def _parse_entry(item: Any) -> ManifestEntry:
    if not isinstance(item, dict) or set(item) != {"path", "digest", "size"}:
        raise InvalidArgument(f"manifest entry must have path, digest and size: {item!r}")
    try:
        return ManifestEntry(item["path"], Digest(item["digest"]), item["size"])
    except MloopError as exc:
        raise InvalidArgument(f"bad manifest entry {item!r}: {exc}") from None


def _check_unique(paths: list[str]) -> None:
    """No path twice, and no file that is also a folder of another entry."""
    files = set(paths)
    if len(files) != len(paths):
        raise InvalidArgument("manifest lists the same path twice")
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in files:
                raise InvalidArgument(f"manifest has {folder!r} both as a file and as a folder")


class LocalFile(NamedTuple):
    """A file found on disk: its entry path, its path as text, and its stat."""

    entry: str
    path: str
    stat: os.stat_result


def local_file(entry: str, path: str | os.PathLike[str]) -> LocalFile:
    """``path`` as a :class:`LocalFile` named ``entry``."""
    return LocalFile(check_entry_path(utf8_name(entry, path)), os.fspath(path), os.stat(path))


def walk_files(folder: Path) -> Iterator[LocalFile]:
    """Every file under ``folder``, following file symlinks, in no particular order.

    Symlinks to folders are refused rather than skipped or followed: skipping
    would drop content silently, following can loop. A folder that cannot be
    read raises its OSError. One ``stat`` per file (scandir), no more.
    """
    stack = [("", os.fspath(folder))]
    while stack:
        prefix, directory = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                name = prefix + utf8_name(entry.name, entry.path)
                if entry.is_dir(follow_symlinks=False):
                    stack.append((name + "/", entry.path))
                    continue
                _check_regular(entry)
                yield LocalFile(check_entry_path(name), entry.path, entry.stat())


def _check_regular(entry: os.DirEntry[str]) -> None:
    if entry.is_symlink() and entry.is_dir():
        raise InvalidArgument(
            f"{entry.path} is a symlink to a folder; mloop stores files, "
            "replace the link by a copy or remove it"
        )
    if not entry.is_file():
        raise InvalidArgument(f"{entry.path} is not a regular file (broken symlink, socket...)")
