"""Turning what a user adds (a file, a folder, a table) into stored blobs.

A version's content is always a folder manifest: a file is a manifest of one
entry (its name), a DataFrame or Arrow table one entry ``data.parquet``.
Tabular content (CSV, Parquet, JSON lines; a folder of files of one such
format) is read back to be profiled.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mloop.blobs import BlobStore, Digest, Manifest
from mloop.blobs.hashcache import HashCache
from mloop.blobs.ingest import Progress, ingest
from mloop.blobs.manifest import local_file, utf8_name, walk_files
from mloop.data.profile import Profile, profile_table
from mloop.data.tables import read_table, table_format
from mloop.errors import InvalidArgument, NotFound, PermissionDenied
from mloop.store import DatasetKind

TABLE_FILE = "data.parquet"


@dataclass(frozen=True, slots=True)
class Content:
    """Stored files of a would-be version, and where they came from."""

    manifest: Manifest
    kind: DatasetKind
    source: str
    local: Path | None
    """The local file or folder that was stored (None for an in-memory table)."""
    table: pa.Table | None = None


def store_path(
    blobs: BlobStore, path: Path, *, cache: HashCache | None, progress: Progress | None
) -> Content:
    """Store the file or folder at ``path``."""
    if not path.exists():
        raise NotFound(f"cannot add {path}: no such file or folder")
    utf8_name(str(path.resolve()), path.resolve())
    try:
        if path.is_dir():
            manifest = blobs.put_files(path.resolve(), cache=cache, progress=progress)
            if not manifest.entries:
                raise InvalidArgument(f"cannot add {path}: the folder holds no files")
            return Content(manifest, DatasetKind.FOLDER, str(path.resolve()), path)
        if not path.is_file():
            raise InvalidArgument(f"cannot add {path}: not a regular file or folder")
        file = local_file(path.resolve().name, path.resolve())
        manifest = ingest(blobs.backend, [file], cache=cache, progress=progress)
    except PermissionError as exc:
        raise PermissionDenied(f"cannot read {exc.filename or path}: permission denied") from None
    return Content(manifest, DatasetKind.FILE, str(path.resolve()), path)


def store_table(blobs: BlobStore, table: pa.Table, source: str) -> Content:
    """Store ``table`` as Parquet (zstd); the same table gives the same bytes."""
    with tempfile.TemporaryDirectory(prefix="mloop-table-") as folder:
        file = Path(folder) / TABLE_FILE
        pq.write_table(table, file, compression="zstd")
        manifest = ingest(blobs.backend, [local_file(TABLE_FILE, file)])
    return Content(manifest, DatasetKind.TABLE, source, None, table)


def tabular_format(paths: Iterable[str]) -> str | None:
    """The one tabular format of every file in ``paths`` (csv, parquet, json), else None."""
    formats = {table_format(path) for path in paths}
    if len(formats) == 1:
        return formats.pop()
    return None


def read_tabular(local: Path, paths: Iterable[str]) -> pa.Table | None:
    """The table in the local file, or the files ``paths`` of the local folder; None if
    they are not all of one tabular format.

    A folder's files are concatenated in path order, so they must share columns.
    """
    paths = sorted(paths)
    fmt = tabular_format(paths)
    if fmt is None:
        return None
    if local.is_file():
        return read_table(local, fmt)
    tables = [read_table(local.joinpath(*path.split("/")), fmt) for path in paths]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidArgument(
            f"the {fmt} files of {local} do not share one set of columns: {exc}"
        ) from None


def table_of(content: Content) -> pa.Table | None:
    """The table ``content`` holds, read from its local files; None if it is not tabular."""
    if content.table is not None:
        return content.table
    if content.local is None:
        return None
    return read_tabular(content.local, (entry.path for entry in content.manifest.entries))


def read_local(path: Path) -> pa.Table:
    """The table in a local file, or in a folder of files of one tabular format."""
    if not path.exists():
        raise NotFound(f"no such file or folder {path}")
    names = [file.entry for file in walk_files(path)] if path.is_dir() else [path.name]
    table = read_tabular(path, names)
    if table is None:
        raise InvalidArgument(
            f"{path} is not tabular data: give a CSV, Parquet or JSON-lines file "
            "(.csv, .tsv, .parquet, .pq, .jsonl, .ndjson), or a folder of files of one such format"
        )
    return table


def store_profile(blobs: BlobStore, table: pa.Table) -> tuple[Profile, Digest]:
    """Profile ``table`` and store the profile as a JSON blob."""
    profile = profile_table(table)
    data = json.dumps(profile.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return profile, blobs.put_bytes(data.encode())


def load_profile(blobs: BlobStore, digest: Digest) -> Profile:
    """The verified profile stored as ``digest``."""
    try:
        return Profile.from_dict(json.loads(blobs.get_bytes(digest)))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"blob {digest} is not a profile: {exc}") from None
