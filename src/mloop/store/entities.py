"""Plain value objects that cross the store seam.

They carry no database or session state, so a SQL store, a REST client and the
tracking API all exchange exactly these.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


def now_ms() -> int:
    """The time as stored everywhere: whole milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


class NoteOutcome(StrEnum):
    WORKED = "worked"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class Experiment:
    id: int
    project_id: int
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One measurement: ``value`` may be NaN or ±inf (a diverging loss stays visible)."""

    key: str
    value: float
    step: int
    timestamp: int  # milliseconds since the epoch

    def same_as(self, other: MetricPoint) -> bool:
        """Equality that treats NaN as equal to NaN."""
        both_nan = math.isnan(self.value) and math.isnan(other.value)
        return (self.key, self.step, self.timestamp) == (
            other.key,
            other.step,
            other.timestamp,
        ) and (both_nan or self.value == other.value)


@dataclass(frozen=True, slots=True)
class ArtifactEntry:
    """A logged artifact: a file (``is_dir`` False) or a folder stored as a manifest."""

    path: str
    digest: str
    size: int
    is_dir: bool


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    run_id: str
    text: str
    outcome: NoteOutcome | None
    user: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Run:
    """A run with its data: params, latest metric values and tags."""

    id: str
    experiment_id: int
    name: str
    status: RunStatus
    user: str
    start_time: int
    end_time: int | None
    parent_id: str | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results; pass ``next_token`` back to get the next one."""

    items: list[T]
    next_token: str | None


class DatasetKind(StrEnum):
    """What a dataset version holds: one file, a folder of files, or a table (stored as Parquet)."""

    FILE = "file"
    FOLDER = "folder"
    TABLE = "table"


@dataclass(frozen=True, slots=True)
class Dataset:
    """A named, versioned collection of data; ``schema`` is the attached schema as JSON text."""

    id: int
    project_id: int
    name: str
    created_at: int
    description: str
    schema: str | None
    latest: int | None
    """The newest version number; None while the dataset has no version."""


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One immutable version of a dataset.

    ``digest`` names the folder manifest of its files in the blob store (a single
    file or a table is a manifest of one entry); ``profile`` names the JSON blob of
    its column statistics (tabular data only).
    """

    id: int
    dataset: str
    version: int
    digest: str
    kind: DatasetKind
    files: int
    size: int
    rows: int | None
    profile: str | None
    parent: int | None
    """The version number this one was added on top of (the latest at the time)."""
    user: str
    created_at: int
    message: str | None
    source: str | None
    """Where the content came from (a path, or ``DataFrame``), for people; never read back."""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``NAME@N``, the way to name this version everywhere."""
        return f"{self.dataset}@{self.version}"


@dataclass(frozen=True, slots=True)
class NewVersion:
    """What a new dataset version records; the store numbers it and links its parent."""

    digest: str
    kind: DatasetKind
    files: int
    size: int
    rows: int | None
    profile: str | None
    user: str
    created_at: int
    message: str | None = None
    source: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunInput:
    """A dataset version used by a run, in a role such as train, validation, test, reference."""

    run_id: str
    version: DatasetVersion
    role: str
    created_at: int
