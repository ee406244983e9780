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


BLOB_TAG = "mloop.blob."
"""A dataset version tag under this prefix names a blob the version keeps (data derived
from it, such as its drift statistics): garbage collection keeps that blob."""


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


class ModelVersionStatus(StrEnum):
    """A registered version is READY to be used, or ARCHIVED: kept, but no alias may point at it."""

    READY = "READY"
    ARCHIVED = "ARCHIVED"


class AliasAction(StrEnum):
    """Why an alias moved: set by hand, promoted (after a gate), rolled back, or removed."""

    SET = "set"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A named model in the registry; its versions are numbered 1, 2, ..."""

    id: int
    name: str
    description: str
    created_at: int
    latest: int | None
    """The newest version number; None while the model has no version."""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    """Alias name → the version number it points at now."""


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One registered, immutable model package: ``package`` names its folder manifest blob."""

    id: int
    model: str
    version: int
    package: str
    flavor: str
    run_id: str | None
    """The run that logged the package, which links it to code, data, params and environment."""
    source: str | None
    """The URI the package was registered from (``runs:/...``), for people."""
    signature: str | None
    """The input/output signature as JSON text."""
    status: ModelVersionStatus
    description: str
    user: str
    created_at: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        """``models:/NAME/N``, the way to name this version everywhere."""
        return f"models:/{self.model}/{self.version}"


@dataclass(frozen=True, slots=True)
class NewModelVersion:
    """What a new model version records; the store numbers it."""

    package: str
    flavor: str
    user: str
    created_at: int
    run_id: str | None = None
    source: str | None = None
    signature: str | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AliasEvent:
    """One move of an alias, kept forever: who pointed it where, when, from what, and why."""

    id: int
    model: str
    alias: str
    version: int | None
    """The version the alias points at after the move; None when it was removed."""
    previous: int | None
    """The version it pointed at before; None when it was new."""
    action: AliasAction
    user: str
    created_at: int
    reason: str


@dataclass(frozen=True, slots=True)
class NewEvaluation:
    """What an evaluation records; ``result`` is the full result as JSON text."""

    candidate: str
    """The candidate's package digest."""
    candidate_version_id: int | None
    baseline_version_id: int | None
    dataset_version_id: int | None
    task: str
    passed: bool
    result: str
    user: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A recorded evaluation of a candidate model against a baseline on one data version.

    ``result`` is the full result as JSON text (metrics, slices, fairness, gate checks).
    """

    id: int
    candidate: str
    """The candidate's package digest."""
    candidate_version_id: int | None
    baseline_version_id: int | None
    dataset_version_id: int | None
    task: str
    passed: bool
    result: str
    user: str
    created_at: int


class RevisionAction(StrEnum):
    """How a deployment revision came to be."""

    CREATE = "create"
    SET = "set"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class Route:
    """Where a share of a deployment's traffic goes.

    ``model`` is a registered version, ``models:/NAME/N``, or an alias the deployment
    follows, ``models:/NAME@ALIAS``. ``weight`` is the percent of requests it answers;
    a shadow route (weight 0) scores every request without answering any.
    """

    model: str
    weight: int
    shadow: bool = False


@dataclass(frozen=True, slots=True)
class Revision:
    """One immutable state of a deployment's routes, kept forever."""

    id: int
    deployment: str
    number: int
    routes: tuple[Route, ...]
    action: RevisionAction
    source: int
    """The revision whose routes this one holds: itself, or the one a rollback restored."""
    user: str
    created_at: int
    reason: str

    @property
    def primary(self) -> tuple[Route, ...]:
        return tuple(route for route in self.routes if not route.shadow)

    @property
    def shadows(self) -> tuple[Route, ...]:
        return tuple(route for route in self.routes if route.shadow)


@dataclass(frozen=True, slots=True)
class Deployment:
    """A named place that serves models; ``revision`` is its current routes."""

    id: int
    name: str
    description: str
    created_at: int
    revision: Revision


@dataclass(frozen=True, slots=True)
class NewSegment:
    """A flushed piece of the prediction log: one Parquet blob, one model version."""

    digest: str
    rows: int
    start: int
    """The first prediction's time (ms since the epoch)."""
    end: int
    """The last prediction's time (ms since the epoch)."""
    package: str
    model: str
    """The model that answered, as served: ``models:/NAME/N`` or a package reference."""
    deployment: str | None = None
    revision: int | None = None
    version_id: int | None = None


@dataclass(frozen=True, slots=True)
class PredictionSegment:
    id: int
    digest: str
    rows: int
    start: int
    end: int
    package: str
    model: str
    deployment: str | None
    revision: int | None
    version_id: int | None
    created_at: int


@dataclass(frozen=True, slots=True)
class Failure:
    """A request the model could not score (an error of the model, not of the request)."""

    request_id: str
    time: int
    """When it arrived (ms since the epoch)."""
    rows: int
    model: str
    """The model that failed, as served: ``models:/NAME/N`` or a package reference."""
    error: str
    deployment: str | None = None
    revision: int | None = None


@dataclass(frozen=True, slots=True)
class Label:
    """The ground truth for one logged prediction row, as JSON text; the newest wins."""

    request_id: str
    row: int
    value: str
    created_at: int


@dataclass(frozen=True, slots=True)
class NewMonitor:
    """What a monitor records: what it watches, against what, and how (settings as JSON)."""

    name: str
    deployment: str
    reference: str
    """The reference dataset version, ``NAME@N``."""
    reference_version_id: int
    window: str
    """``1h``, ``1d``, ``30m`` or ``10000rows``."""
    settings: str
    user: str
    created_at: int
    baseline: str | None = None
    """The digest of the blob of the reference's statistics with the served model
    (kept by garbage collection)."""


@dataclass(frozen=True, slots=True)
class Monitor:
    id: int
    name: str
    deployment: str
    reference: str
    reference_version_id: int
    window: str
    settings: str
    user: str
    created_at: int
    baseline: str | None = None


@dataclass(frozen=True, slots=True)
class NewMonitorResult:
    window_index: int
    """The window's number: start time // window length, or the row chunk's number."""
    window_start: int
    window_end: int
    rows: int
    drifted: bool
    share: float
    result: str
    """Everything computed for the window, as JSON text."""
    report: str | None
    """The digest of its HTML report blob."""
    created_at: int


@dataclass(frozen=True, slots=True)
class MonitorResult:
    id: int
    monitor: str
    window_index: int
    window_start: int
    window_end: int
    rows: int
    drifted: bool
    share: float
    result: str
    report: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class NewMonitorEvent:
    kind: str
    """``drift``, ``decay`` or ``quality``."""
    message: str
    details: str
    """JSON text."""


@dataclass(frozen=True, slots=True)
class MonitorEvent:
    """Something a monitor found, kept forever; the automation consumes these in order."""

    id: int
    monitor: str
    result_id: int
    kind: str
    message: str
    details: str
    created_at: int


class DeliveryState(StrEnum):
    """Where a monitor event's webhook delivery is."""

    PENDING = "pending"
    """Not taken yet: sent again on later monitor runs and agent ticks."""
    DELIVERED = "delivered"
    """The receiver answered 2xx."""
    ABANDONED = "abandoned"
    """Refused (4xx), or still failing after the last attempt: never sent again."""


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """Where a monitor sends its events, and the environment variable holding the secret."""

    url: str
    secret_env: str


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookDelivery:
    """One event's delivery to a webhook, with what the alert's body needs."""

    event: MonitorEvent
    deployment: str
    window_start: int
    window_end: int
    target: WebhookTarget
    state: DeliveryState
    attempts: int
    last_error: str | None
    next_attempt_at: int
    """When it is due again (ms since the epoch)."""


class PipelineStatus(StrEnum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"


class StepStatus(StrEnum):
    DONE = "DONE"
    """Computed in this pipeline run."""
    REUSED = "REUSED"
    """Taken from the cache: an earlier step run with the same key."""
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class PipelineRun:
    id: str
    pipeline: str
    """``module:function`` of the pipeline."""
    params: str
    """JSON text."""
    status: PipelineStatus
    executor: str
    run_id: str
    """The tracked run that holds the step runs as children."""
    user: str
    created_at: int
    ended_at: int | None
    error: str | None
    resumed_from: str | None


@dataclass(frozen=True, slots=True)
class NewStepRun:
    node: str
    """The call's name in the graph: the step's name, ``name#2`` for a second call."""
    step: str
    cache_key: str
    status: StepStatus
    outputs: str
    """JSON text: the output's kind and digest."""
    run_id: str | None
    attempts: int
    started_at: int
    ended_at: int
    error: str | None = None
    reused_from: int | None = None


@dataclass(frozen=True, slots=True)
class StepRun:
    id: int
    pipeline_run: str
    node: str
    step: str
    cache_key: str
    status: StepStatus
    outputs: str
    run_id: str | None
    attempts: int
    started_at: int
    ended_at: int
    error: str | None
    reused_from: int | None


class JobState(StrEnum):
    """Where an automation job is: the states a trigger's run goes through."""

    SKIPPED = "skipped"
    """Triggered while another run of the policy was active or cooling down."""
    QUEUED = "queued"
    TRAINED = "trained"
    """The pipeline ran and its model is registered as the candidate."""
    GATED = "gated"
    """The candidate passed its gate."""
    ROLLING = "rolling"
    """The candidate is in shadow or canary."""
    WATCHING = "watching"
    """Promoted; its guards are still watched."""
    PROMOTED = "promoted"
    UNCHANGED = "unchanged"
    """The pipeline made the champion's package again: nothing to roll out."""
    GATED_OUT = "gated_out"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        return self in _ACTIVE


_ACTIVE = frozenset(
    {JobState.QUEUED, JobState.TRAINED, JobState.GATED, JobState.ROLLING, JobState.WATCHING}
)


@dataclass(frozen=True, slots=True)
class NewJob:
    """A run of a policy, opened by one trigger event; ``dedupe`` names that event so it
    opens at most one job, whatever agent sees it and however often."""

    policy: str
    trigger: str
    """The trigger's key: ``drift:bikes-watch``, ``schedule:0 3 * * 1``, ``manual``."""
    dedupe: str
    state: JobState
    data: str
    """JSON text: what the job has decided so far (params, candidate, rollout stage)."""
    created_at: int


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    policy: str
    trigger: str
    dedupe: str
    state: JobState
    data: str
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class NewAutomationEvent:
    """One decision of the automation, with its reason (``message``), kept forever."""

    policy: str
    kind: str
    """``armed``, ``triggered``, ``skipped``, ``trained``, ``gate_passed``, ``gated_out``,
    ``canary``, ``shadow``, ``promoted``, ``rolled_back``, ``failed``, ``done``."""
    message: str
    details: str
    """JSON text."""
    user: str
    created_at: int
    job_id: int | None = None


@dataclass(frozen=True, slots=True)
class AutomationEvent:
    id: int
    policy: str
    job_id: int | None
    kind: str
    message: str
    details: str
    user: str
    created_at: int


@dataclass(frozen=True, slots=True)
class BlobUser:
    """An object of the metadata that cannot be read without a blob."""

    digest: str
    """The blob it references directly (a folder's files are found through its manifest)."""
    kind: str
    """What it is: ``dataset version``, ``artifact``, ``model version``, ``prediction
    segment``, ``monitor``, ``monitor report``, ``pipeline step``."""
    name: str
    """How mloop names it: ``bikes@2``, ``runs:/<run id>/model``, ``models:/churn/3``, ..."""
