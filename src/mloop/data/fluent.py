"""``mloop.data.add(...)``, ``mloop.data.get(...)``: the data API on the default client.

Inside an active run (``with mloop.start_run():``) the client is the run's, and
``get`` records the version as an input of the run, so every run knows which
data it read.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from mloop.blobs.ingest import Progress
from mloop.data.client import AddResult, DataClient, Source, VersionLike
from mloop.data.diff import DatasetDiff
from mloop.data.profile import Profile
from mloop.data.schema import Schema
from mloop.data.validation import DEFAULT_THRESHOLDS, Report, Thresholds
from mloop.errors import InvalidArgument
from mloop.store import DatasetVersion
from mloop.tracking.client import Client
from mloop.tracking.fluent import active_run, default_client

_clients: weakref.WeakKeyDictionary[Client, DataClient] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def data_client(client: Client | None = None) -> DataClient:
    """The :class:`DataClient` over ``client`` (default: the active run's, else the default)."""
    if client is None:
        run = active_run()
        client = run.client if run is not None else default_client()
    with _lock:
        found = _clients.get(client)
        if found is None:
            found = _clients[client] = DataClient(client)
        return found


def add(
    source: Source,
    name: str,
    *,
    message: str | None = None,
    tags: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> AddResult:
    """Add a file, folder, DataFrame or Arrow table as the next version of ``name``."""
    return data_client().add(source, name, message=message, tags=tags, progress=progress)


def get(ref: VersionLike, *, role: str = "input") -> Path | pd.DataFrame:
    """A version as a DataFrame (tabular data) or a local path; logged as an input of the run."""
    client = data_client()
    version = client.version(ref)
    run = active_run()
    if run is not None:
        client.log_input(run.id, version, role)
    return client.get(version)


def checkout(ref: VersionLike, dest: str | Path, *, link: bool = False) -> Path:
    """Write a version's files into the new or empty folder ``dest``, verified: independent
    copies, or with ``link`` hardlinks into the store (for readers only, see DataClient)."""
    return data_client().checkout(ref, dest, link=link)


def log_input(ref: VersionLike, role: str = "input") -> DatasetVersion:
    """Record that the active run used dataset version ``ref`` as ``role`` (train, test, ...)."""
    run = active_run()
    if run is None:
        raise InvalidArgument(
            "no active run: wrap the code in `with mloop.start_run():` to log its inputs"
        )
    return data_client(run.client).log_input(run.id, ref, role)


def version(ref: VersionLike) -> DatasetVersion:
    """The version named ``NAME``, ``NAME@3``, ``NAME@latest`` or ``NAME@<digest prefix>``."""
    return data_client().version(ref)


def diff(old: VersionLike, new: VersionLike) -> DatasetDiff:
    """What changed between two versions."""
    return data_client().diff(old, new)


def validate(
    data: VersionLike | Path | pd.DataFrame,
    *,
    schema: Schema | None = None,
    reference: VersionLike | Profile | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Report:
    """Check data against a schema and/or a reference; see :meth:`DataClient.validate`."""
    return data_client().validate(data, schema=schema, reference=reference, thresholds=thresholds)
