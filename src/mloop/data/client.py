"""``DataClient``: datasets and their versions, over a :class:`mloop.Client`'s stores.

    data = DataClient(mloop.Client())
    result = data.add("data/bikes.csv", name="bikes")      # version 1, profiled
    frame = data.get("bikes@1")                            # a DataFrame, verified
    report = data.validate("bikes@2", reference="bikes@1")

``mloop.data.add`` and friends are the same calls on the default client, with
lineage logged to the active run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

import pandas as pd
import pyarrow as pa

from mloop.blobs import BlobStore, Digest, Manifest
from mloop.blobs.hashcache import HashCache, default_location
from mloop.blobs.ingest import Progress
from mloop.data import checkout as checkouts
from mloop.data import content as contents
from mloop.data import validation
from mloop.data.diff import DatasetDiff, compare_files
from mloop.data.profile import Profile, profile_table
from mloop.data.profile_diff import compare_profiles
from mloop.data.refs import VersionRef, parse_ref
from mloop.data.schema import Schema, infer_schema
from mloop.data.tables import to_table
from mloop.data.validation import DEFAULT_THRESHOLDS, Report, Thresholds
from mloop.errors import InvalidArgument, NotFound
from mloop.store import Dataset, DatasetKind, DatasetVersion, NewVersion, RunInput, Store
from mloop.store import validate as check
from mloop.store.entities import now_ms
from mloop.tracking.client import Client
from mloop.workspace import CHECKOUTS

Source: TypeAlias = str | Path | pd.DataFrame | pa.Table
"""What can be added: a path to a file or folder, a pandas DataFrame or an Arrow table."""
VersionLike: TypeAlias = str | DatasetVersion


class AddResult(NamedTuple):
    version: DatasetVersion
    created: bool
    """False when the content was identical to the latest version (no new version)."""


class DataClient:
    """Datasets, versions, profiles, schemas and validation over ``client``'s stores."""

    def __init__(self, client: Client, *, hash_cache: HashCache | None = None) -> None:
        self.client = client
        self._hash_cache = hash_cache

    @property
    def store(self) -> Store:
        return self.client.store

    @property
    def blobs(self) -> BlobStore:
        return self.client.blobs

    @cached_property
    def hash_cache(self) -> HashCache:
        """Digests of local files already hashed, in the workspace (or the user's cache)."""
        return self._hash_cache or HashCache(default_location(self.client.settings.workspace))

    def close(self) -> None:
        """Close the hash cache this client opened (an injected one is the caller's)."""
        if self._hash_cache is None and "hash_cache" in self.__dict__:
            self.hash_cache.close()

    # -- adding ----------------------------------------------------------------------
    def add(
        self,
        source: Source,
        name: str,
        *,
        message: str | None = None,
        tags: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> AddResult:
        """Store ``source`` as the next version of dataset ``name`` (created if new).

        Content identical to the latest version makes no new version
        (``created`` is False). Tabular data is profiled.
        """
        check.dataset_name(name)
        check.text_values("tag", dict(tags or {}))
        content = self._store(source, progress)
        digest = self.blobs.put_manifest(content.manifest)
        latest = self._latest(name)
        if latest is not None and latest.digest == digest.hex:
            return AddResult(latest, False)
        table = contents.table_of(content)
        profile = contents.store_profile(self.blobs, table)[1] if table is not None else None
        new = NewVersion(
            digest=digest.hex,
            kind=content.kind,
            files=len(content.manifest.entries),
            size=content.manifest.size,
            rows=None if table is None else table.num_rows,
            profile=None if profile is None else profile.hex,
            user=self.client.settings.user,
            created_at=now_ms(),
            message=message,
            source=content.source,
            tags=dict(tags or {}),
        )
        dataset = self.store.datasets.ensure(name)
        version, created = self.store.datasets.add_version(dataset.id, new)
        return AddResult(version, created)

    def _store(self, source: Source, progress: Progress | None) -> contents.Content:
        if isinstance(source, str | Path):
            return contents.store_path(
                self.blobs, Path(source), cache=self.hash_cache, progress=progress
            )
        table = to_table(source)
        return contents.store_table(self.blobs, table, type(source).__name__)

    def _latest(self, name: str) -> DatasetVersion | None:
        try:
            dataset = self.store.datasets.get(name)
        except NotFound:
            return None
        return None if dataset.latest is None else self.store.datasets.version(name, dataset.latest)

    # -- finding -----------------------------------------------------------------------
    def datasets(self) -> list[Dataset]:
        return self.store.datasets.list_all()

    def versions(self, name: str) -> list[DatasetVersion]:
        """Every version of ``name``, newest first."""
        return self.store.datasets.versions(check.dataset_name(name))

    def version(self, ref: VersionLike) -> DatasetVersion:
        """The version named ``NAME``, ``NAME@3``, ``NAME@latest`` or ``NAME@<digest prefix>``."""
        if isinstance(ref, DatasetVersion):
            return ref
        return self._resolve(parse_ref(ref))

    def _resolve(self, ref: VersionRef) -> DatasetVersion:
        if ref.number is not None:
            return self.store.datasets.version(ref.name, ref.number)
        if ref.digest_prefix is None:
            latest = self._latest(ref.name)
            if latest is None:
                self.store.datasets.get(ref.name)  # NotFound for an unknown dataset
                raise NotFound(f"dataset {ref.name!r} has no versions yet: add one first")
            return latest
        found = self.store.datasets.versions(ref.name, digest_prefix=ref.digest_prefix)
        if not found:
            raise NotFound(
                f"dataset {ref.name!r} has no version whose digest starts with "
                f"{ref.digest_prefix!r}"
            )
        if len(found) > 1:
            shown = ", ".join(v.ref for v in found[:5])
            raise InvalidArgument(
                f"digest prefix {ref.digest_prefix!r} matches {shown}: give more characters"
            )
        return found[0]

    def manifest(self, ref: VersionLike) -> Manifest:
        """The files of a version: paths, digests and sizes."""
        return self.blobs.get_manifest(Digest(self.version(ref).digest))

    def profile(self, ref: VersionLike) -> Profile | None:
        """The stored column statistics of a tabular version (None for other data)."""
        version = self.version(ref)
        if version.profile is None:
            return None
        return contents.load_profile(self.blobs, Digest(version.profile))

    # -- reading -----------------------------------------------------------------------
    def checkout(
        self,
        ref: VersionLike,
        dest: str | Path,
        *,
        link: bool = False,
        progress: Progress | None = None,
    ) -> Path:
        """Write a version's files into the new or empty folder ``dest``, verified.

        Each file is an independent copy, safe to write to: a reflink (instant,
        copy-on-write) where the filesystem has them, else a copy. With ``link``
        files are hardlinked from a local blob store where possible: instant, but
        a hardlink is the stored file itself, so writing to it corrupts the store
        (as root, its read-only mode does not stop you); for readers only.
        """
        version = self.version(ref)
        return checkouts.checkout(
            self.blobs,
            self.manifest(version),
            Path(dest),
            link=link,
            cache=self.hash_cache,
            progress=progress,
        )

    def path(self, ref: VersionLike) -> Path:
        """A local, verified copy of a version (a file, or a folder), kept in the cache."""
        version = self.version(ref)
        manifest = self.manifest(version)
        folder = self.hash_cache.location.parent / CHECKOUTS / version.digest
        checkouts.cached_checkout(self.blobs, manifest, folder, self.hash_cache)
        if version.kind is DatasetKind.FOLDER:
            return folder
        return folder / manifest.entries[0].path

    def get(self, ref: VersionLike) -> Path | pd.DataFrame:
        """A tabular version as a DataFrame; any other as a local path (see :meth:`path`)."""
        version = self.version(ref)
        local = self.path(version)
        if version.profile is None:
            return local
        entries = (entry.path for entry in self.manifest(version).entries)
        table = contents.read_tabular(local, entries)
        return local if table is None else table.to_pandas()

    # -- comparing -----------------------------------------------------------------------
    def diff(self, old: VersionLike, new: VersionLike, *, limit: int = 10) -> DatasetDiff:
        """Files added, removed and changed; for tables also schema and statistics changes."""
        before, after = self.version(old), self.version(new)
        added, removed, changed, same = compare_files(self.manifest(before), self.manifest(after))
        old_profile, new_profile = self.profile(before), self.profile(after)
        tables = None
        if old_profile is not None and new_profile is not None:
            tables = compare_profiles(old_profile, new_profile, limit)
        return DatasetDiff(before, after, added, removed, changed, same, tables)

    # -- schemas and validation ------------------------------------------------------------
    def schema(self, name: str) -> Schema | None:
        """The schema attached to dataset ``name``, if any."""
        text = self.store.datasets.get(check.dataset_name(name)).schema
        return None if text is None else Schema.from_dict(json.loads(text))

    def set_schema(self, name: str, schema: Schema | None) -> None:
        """Attach ``schema`` to dataset ``name`` (None detaches it); versions are checked on it."""
        if schema is not None and not isinstance(schema, Schema):
            raise InvalidArgument(
                f"a schema must be a mloop.data.Schema, got {type(schema).__name__}"
            )
        text = None if schema is None else json.dumps(schema.to_dict(), sort_keys=True)
        self.store.datasets.set_schema(check.dataset_name(name), text)

    def infer_schema(self, ref: VersionLike) -> Schema:
        """A schema that the tabular version ``ref`` satisfies, to edit and attach."""
        version = self.version(ref)
        profile = self.profile(version)
        if profile is None:
            raise InvalidArgument(
                f"{version.ref} is not tabular (CSV, Parquet or JSON lines): it has no schema"
            )
        return infer_schema(profile)

    def validate(
        self,
        data: VersionLike | Path | pd.DataFrame | pa.Table,
        *,
        schema: Schema | None = None,
        reference: VersionLike | Profile | None = None,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
    ) -> Report:
        """Check ``data`` against a schema and/or a reference version's profile.

        ``data`` is a version (``"bikes@2"``), a local file or folder (a ``Path``)
        or a table. Without ``schema``, a version is checked against its
        dataset's attached schema.
        """
        table = self._table_to_check(data)
        if schema is None and isinstance(data, str | DatasetVersion):
            schema = self.schema(self.version(data).dataset)
        base = reference if isinstance(reference, Profile | None) else self._profile_of(reference)
        if schema is None and base is None:
            raise InvalidArgument(_nothing_to_check(data))
        return validation.validate(
            profile_table(table), schema=schema, reference=base, table=table, thresholds=thresholds
        )

    def _table_to_check(self, data: Any) -> pa.Table:
        if isinstance(data, Path):
            return contents.read_local(data)
        if isinstance(data, str | DatasetVersion):
            version = self.version(data)
            entries = (entry.path for entry in self.manifest(version).entries)
            table = contents.read_tabular(self.path(version), entries)
            if table is None:
                raise InvalidArgument(f"{version.ref} is not tabular: there is nothing to validate")
            return table
        return to_table(data)

    def _profile_of(self, ref: VersionLike) -> Profile:
        version = self.version(ref)
        profile = self.profile(version)
        if profile is None:
            raise InvalidArgument(
                f"{version.ref} is not tabular: it has no profile to compare with"
            )
        return profile

    # -- lineage ---------------------------------------------------------------------------
    def log_input(self, run_id: str, ref: VersionLike, role: str = "input") -> DatasetVersion:
        """Record that run ``run_id`` used the version ``ref`` as ``role`` (train, test, ...)."""
        version = self.version(ref)
        run = self.client.resolve_run_id(run_id)
        self.store.datasets.log_input(run, version.id, role, now_ms())
        return version

    def inputs(self, run_id: str) -> list[RunInput]:
        """The dataset versions run ``run_id`` used."""
        return self.store.datasets.run_inputs(self.client.resolve_run_id(run_id))

    def used_by(self, ref: VersionLike) -> list[RunInput]:
        """The runs that used a version, oldest first."""
        return self.store.datasets.version_users(self.version(ref).id)


def _nothing_to_check(data: object) -> str:
    if isinstance(data, str | DatasetVersion):
        return (
            "nothing to validate against: attach a schema to the dataset "
            "(mloop data schema set NAME FILE), or give a schema (--schema FILE) "
            "or a reference version (--reference NAME@V)"
        )
    return (
        "nothing to validate against: give a schema (--schema FILE), a dataset whose "
        "schema to use (--dataset NAME) or a reference version (--reference NAME@V)"
    )
