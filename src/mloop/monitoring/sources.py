"""Where drift data comes from: dataset versions (with their stored reference statistics)
or local tabular files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mloop.blobs import Digest
from mloop.data.client import DataClient
from mloop.data.content import read_local
from mloop.data.refs import is_local
from mloop.errors import InvalidArgument, NotFound
from mloop.monitoring.reference import Reference, build_reference
from mloop.store import DatasetVersion
from mloop.store.entities import BLOB_TAG

REFERENCE_TAG = f"{BLOB_TAG}drift-reference"  # kept by garbage collection
"""The dataset-version tag naming the blob of its drift reference statistics."""


def read_table(data: DataClient, text: str) -> tuple[str, pd.DataFrame]:
    """(label, rows) of local tabular data (``./x.csv``, a Parquet file, ...) or a version."""
    if is_local(text):
        return text, read_local(Path(text)).to_pandas()
    version = data.version(text)
    return version.ref, version_frame(data, version)


def version_frame(data: DataClient, version: DatasetVersion) -> pd.DataFrame:
    """The rows of a tabular version."""
    frame = data.get(version)
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(f"{version.ref} is not a table: drift compares tables")
    return frame


def stored_reference(data: DataClient, text: str) -> tuple[DatasetVersion, Reference]:
    """The drift reference of a dataset version, computed once and kept with the version."""
    version = data.version(text)
    digest = version.tags.get(REFERENCE_TAG)
    if digest is not None:
        try:
            return version, Reference.from_dict(json.loads(data.blobs.get_bytes(Digest(digest))))
        except NotFound:  # the blob was lost: compute it again
            pass
    reference = build_reference(version_frame(data, version))
    stored = data.blobs.put_bytes(json.dumps(reference.to_dict()).encode())
    data.store.datasets.set_version_tags(version.id, {REFERENCE_TAG: stored.hex})
    return version, reference
