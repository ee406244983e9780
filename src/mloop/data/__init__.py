"""Datasets: immutable versions of files, folders and tables, with profiles and validation.

    import mloop

    mloop.data.add("data/bikes.csv", name="bikes")          # bikes@1, profiled
    with mloop.start_run():
        frame = mloop.data.get("bikes@latest", role="train")  # logged as the run's input
    report = mloop.data.validate("bikes@2", reference="bikes@1")

:class:`DataClient` is the explicit API over any :class:`mloop.Client`.
"""

from mloop.data.client import AddResult, DataClient
from mloop.data.diff import DatasetDiff, FileChange
from mloop.data.fluent import (
    add,
    checkout,
    data_client,
    diff,
    get,
    log_input,
    validate,
    version,
)
from mloop.data.profile import ColumnProfile, Profile
from mloop.data.schema import ColumnSchema, Schema
from mloop.data.validation import Anomaly, Report

__all__ = [
    "AddResult",
    "Anomaly",
    "ColumnProfile",
    "ColumnSchema",
    "DataClient",
    "DatasetDiff",
    "FileChange",
    "Profile",
    "Report",
    "Schema",
    "add",
    "checkout",
    "data_client",
    "diff",
    "get",
    "log_input",
    "validate",
    "version",
]
