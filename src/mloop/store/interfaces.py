"""The store seam: one small interface per aggregate.

Lifecycle code talks only to these. The SQL implementation lives in
``mloop.store.sql``; a REST client for the team server will implement the same
Protocols, so tracking code cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mloop.store.entities import (
    AliasAction,
    AliasEvent,
    ArtifactEntry,
    AutomationEvent,
    BlobUser,
    Dataset,
    DatasetVersion,
    DeliveryState,
    Deployment,
    Evaluation,
    Experiment,
    Failure,
    Job,
    JobState,
    Label,
    MetricPoint,
    ModelVersion,
    ModelVersionStatus,
    Monitor,
    MonitorEvent,
    MonitorResult,
    NewAutomationEvent,
    NewEvaluation,
    NewJob,
    NewModelVersion,
    NewMonitor,
    NewMonitorEvent,
    NewMonitorResult,
    NewSegment,
    NewStepRun,
    NewVersion,
    Note,
    NoteOutcome,
    Page,
    PipelineRun,
    PipelineStatus,
    PredictionSegment,
    RegisteredModel,
    Revision,
    RevisionAction,
    Route,
    Run,
    RunInput,
    RunStatus,
    StepRun,
    WebhookDelivery,
    WebhookTarget,
)

POINTS_PER_WRITE = 10_000
"""The most metric points one transaction writes: ``RunStore.log_metrics`` splits a larger
batch, so a long write never holds the database (SQLite has one write lock) for long."""


@dataclass(frozen=True, slots=True)
class ExperimentSummary:
    experiment: Experiment
    project: str
    run_count: int
    last_run_at: int | None


class ExperimentStore(Protocol):
    def ensure(self, name: str, project: str = "default") -> Experiment:
        """The experiment called ``name``, created (with its project) when missing."""
        ...

    def get(self, experiment_id: int) -> Experiment: ...

    def get_by_name(self, name: str, project: str = "default") -> Experiment: ...

    def list(self) -> list[ExperimentSummary]: ...


@dataclass(frozen=True, slots=True)
class RunQuery:
    """What ``RunStore.search`` looks for; the filter language is in ``mloop.store.query``."""

    experiment_ids: Sequence[int] | None = None
    filter: str | None = None
    order_by: Sequence[str] = ()
    max_results: int = 100
    page_token: str | None = None


class RunStore(Protocol):
    def create(
        self,
        experiment_id: int,
        *,
        name: str | None,
        user: str,
        start_time: int,
        parent_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Run: ...

    def get(self, run_id: str) -> Run: ...

    def set_status(self, run_id: str, status: RunStatus, end_time: int | None) -> None: ...

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        """Add params; a key already logged with a different value is a Conflict."""
        ...

    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Append points, in transactions of at most :data:`POINTS_PER_WRITE`: a batch
        that size or smaller is written whole or not at all."""
        ...

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]: ...

    def search(self, query: RunQuery) -> Page[Run]: ...

    def record_artifacts(self, run_id: str, entries: Sequence[ArtifactEntry]) -> None: ...

    def artifacts(self, run_id: str) -> list[ArtifactEntry]: ...

    def add_note(
        self, run_id: str, text: str, *, outcome: NoteOutcome | None, user: str, created_at: int
    ) -> Note: ...

    def notes(self, run_id: str) -> list[Note]: ...

    def blob_references(self) -> tuple[set[str], set[str]]:
        """Digests this aggregate references: (files, folder manifests)."""
        ...

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        """The objects that reference any of ``digests`` directly, in every project."""
        ...


class BlobSource(Protocol):
    """What every aggregate that references blobs offers (for gc and fsck)."""

    def blob_references(self) -> tuple[set[str], set[str]]:
        """Digests this aggregate references: (files, folder manifests)."""
        ...

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        """The objects that reference any of ``digests`` directly, in every project."""
        ...


class DatasetStore(Protocol):
    """Datasets, their immutable versions, and which runs used which version."""

    def ensure(self, name: str, project: str = "default") -> Dataset:
        """The dataset called ``name``, created (with its project) when missing."""
        ...

    def get(self, name: str, project: str = "default") -> Dataset: ...

    def list_all(self, project: str = "default") -> list[Dataset]: ...

    def set_schema(self, name: str, schema: str | None, project: str = "default") -> None:
        """Attach a schema (JSON text) to the dataset, or detach it with None."""
        ...

    def add_version(self, dataset_id: int, new: NewVersion) -> tuple[DatasetVersion, bool]:
        """Record ``new`` as the next version, unless the latest has the same digest.

        Returns (the version, True) when one was created, or (the latest, False)
        when its content is identical: adding the same data twice makes no version.
        """
        ...

    def version(self, name: str, number: int, project: str = "default") -> DatasetVersion: ...

    def versions(
        self, name: str, project: str = "default", *, digest_prefix: str | None = None
    ) -> list[DatasetVersion]:
        """All versions, newest first; only those whose digest starts with ``digest_prefix``."""
        ...

    def set_version_tags(self, version_id: int, tags: Mapping[str, str]) -> None: ...

    def log_input(self, run_id: str, version_id: int, role: str, created_at: int) -> None:
        """Record that the run used the version in ``role`` (again is harmless)."""
        ...

    def run_inputs(self, run_id: str) -> list[RunInput]:
        """The dataset versions a run used."""
        ...

    def version_users(self, version_id: int) -> list[RunInput]:
        """The runs that used a dataset version, oldest first."""
        ...

    def blob_references(self) -> tuple[set[str], set[str]]:
        """Digests this aggregate references: (files, folder manifests)."""
        ...

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        """The objects that reference any of ``digests`` directly, in every project."""
        ...


class ModelStore(Protocol):
    """Registered models, their numbered versions, and aliases with an append-only history."""

    def ensure(self, name: str, project: str = "default") -> RegisteredModel:
        """The model called ``name``, created (with its project) when missing."""
        ...

    def get(self, name: str, project: str = "default") -> RegisteredModel: ...

    def list_all(self, project: str = "default") -> list[RegisteredModel]: ...

    def update(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        project: str = "default",
    ) -> RegisteredModel:
        """Set the description and/or add tags (an empty value deletes a tag)."""
        ...

    def add_version(self, model_id: int, new: NewModelVersion) -> ModelVersion:
        """Record ``new`` as the next version of the model."""
        ...

    def version(self, name: str, number: int, project: str = "default") -> ModelVersion: ...

    def versions(self, name: str, project: str = "default") -> list[ModelVersion]:
        """All versions, newest first."""
        ...

    def versions_of_run(self, run_id: str) -> list[ModelVersion]:
        """The versions registered from packages that ``run_id`` logged."""
        ...

    def update_version(
        self,
        name: str,
        number: int,
        *,
        status: ModelVersionStatus | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        project: str = "default",
    ) -> ModelVersion:
        """Change a version's status, description or tags (its package never changes).

        Archiving a version an alias points at is a Conflict: move the alias first.
        """
        ...

    def move_alias(
        self,
        name: str,
        alias: str,
        number: int | None,
        *,
        action: AliasAction,
        user: str,
        created_at: int,
        reason: str = "",
        project: str = "default",
    ) -> AliasEvent:
        """Point ``alias`` at version ``number`` (None removes it) and append the event.

        Atomic: the history and the alias never disagree. An archived or missing
        version is refused.
        """
        ...

    def alias_history(
        self, name: str, alias: str | None = None, project: str = "default"
    ) -> list[AliasEvent]:
        """Every move of the model's aliases (or of one alias), oldest first."""
        ...

    def blob_references(self) -> tuple[set[str], set[str]]:
        """Digests this aggregate references: (files, folder manifests)."""
        ...

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        """The objects that reference any of ``digests`` directly, in every project."""
        ...


class EvaluationStore(Protocol):
    """Recorded evaluations of candidate models against baselines."""

    def add(self, new: NewEvaluation) -> Evaluation: ...

    def get(self, evaluation_id: int) -> Evaluation: ...

    def of_version(self, version_id: int) -> list[Evaluation]:
        """Evaluations whose candidate is the model version, newest first."""
        ...


class DeploymentStore(Protocol):
    """Deployments and their revisions: every change of routes is a new, kept revision."""

    def create(
        self,
        name: str,
        routes: Sequence[Route],
        *,
        user: str,
        created_at: int,
        reason: str = "",
        description: str = "",
        project: str = "default",
    ) -> Deployment:
        """A new deployment at revision 1; Conflict when the name is taken."""
        ...

    def get(self, name: str, project: str = "default") -> Deployment: ...

    def list_all(self, project: str = "default") -> list[Deployment]: ...

    def add_revision(
        self,
        name: str,
        routes: Sequence[Route],
        *,
        action: RevisionAction,
        source: int | None,
        user: str,
        created_at: int,
        reason: str = "",
        expected: int | None = None,
        project: str = "default",
    ) -> Revision:
        """Append the next revision. ``source`` is the revision a rollback restores
        (None: the new one itself). With ``expected``, a Conflict when the current
        revision is another one (someone changed the deployment meanwhile)."""
        ...

    def revisions(self, name: str, project: str = "default") -> list[Revision]:
        """Every revision, oldest first."""
        ...

    def revision(self, name: str, number: int, project: str = "default") -> Revision: ...


class PredictionStore(Protocol):
    """The prediction log's index of Parquet segments, and late ground-truth labels."""

    def add_segment(self, new: NewSegment, project: str = "default") -> PredictionSegment: ...

    def segments(
        self,
        *,
        deployment: str | None = None,
        version_id: int | None = None,
        start: int | None = None,
        end: int | None = None,
        project: str = "default",
    ) -> list[PredictionSegment]:
        """Segments overlapping [start, end] (ms since the epoch), oldest first."""
        ...

    def add_labels(self, batch: Sequence[Label]) -> None:
        """Record ground truth; a newer label for the same request row replaces the older."""
        ...

    def labels(self, request_ids: Sequence[str]) -> list[Label]: ...

    def add_failures(self, batch: Sequence[Failure], project: str = "default") -> None:
        """Record requests the served model could not score."""
        ...

    def failures(
        self,
        *,
        deployment: str | None = None,
        start: int | None = None,
        end: int | None = None,
        project: str = "default",
    ) -> list[Failure]:
        """Failed requests that arrived in [start, end] (ms), oldest first."""
        ...

    def blob_references(self) -> tuple[set[str], set[str]]:
        """Digests this aggregate references: (files, folder manifests)."""
        ...

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        """The objects that reference any of ``digests`` directly, in every project."""
        ...


class MonitorStore(Protocol):
    """Monitors of deployments, one result per window, and the events they raised."""

    def create(self, new: NewMonitor, project: str = "default") -> Monitor: ...

    def get(self, name: str, project: str = "default") -> Monitor: ...

    def rebase(
        self,
        name: str,
        reference: str,
        reference_version_id: int,
        settings: str,
        project: str = "default",
        *,
        baseline: str | None = None,
    ) -> Monitor:
        """Give the monitor a new reference, settings and baseline; its results so far
        stay as they are."""
        ...

    def list_all(self, project: str = "default") -> list[Monitor]: ...

    def add_result(
        self,
        name: str,
        new: NewMonitorResult,
        events: Sequence[NewMonitorEvent] = (),
        project: str = "default",
        *,
        webhook: WebhookTarget | None = None,
    ) -> MonitorResult:
        """Record a window's result and its events atomically; Conflict for a window
        that has a result already. With ``webhook``, each event's delivery is recorded
        as pending in the same transaction."""
        ...

    def deliveries_due(self, now: int, limit: int = 100) -> list[WebhookDelivery]:
        """Pending webhook deliveries due at ``now`` (ms), oldest event first, in every
        project."""
        ...

    def delivery(self, event_id: int) -> WebhookDelivery:
        """The webhook delivery of an event; NotFound when it had none."""
        ...

    def record_attempt(
        self,
        event_id: int,
        state: DeliveryState,
        *,
        error: str | None,
        next_attempt_at: int,
        at: int,
    ) -> None:
        """Count one more attempt of the delivery and set its state."""
        ...

    def results(self, name: str, project: str = "default") -> list[MonitorResult]: ...

    def events(
        self, name: str | None = None, *, after: int = 0, project: str = "default"
    ) -> list[MonitorEvent]:
        """Events with an id above ``after``, oldest first (of one monitor, or all)."""
        ...

    def blob_references(self) -> tuple[set[str], set[str]]: ...

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        """The objects that reference any of ``digests`` directly, in every project."""
        ...


class PipelineStore(Protocol):
    """Pipeline runs and their step runs; a step run is found again by its cache key."""

    def create_run(self, run: PipelineRun, project: str = "default") -> PipelineRun: ...

    def finish_run(
        self, run_id: str, status: PipelineStatus, ended_at: int, error: str | None = None
    ) -> None: ...

    def get_run(self, run_id: str) -> PipelineRun:
        """The run with this id, or the only one whose id starts with it."""
        ...

    def list_runs(
        self, pipeline: str | None = None, limit: int = 50, project: str = "default"
    ) -> list[PipelineRun]:
        """The newest runs first."""
        ...

    def record_step(self, pipeline_run: str, new: NewStepRun) -> StepRun: ...

    def steps(self, pipeline_run: str) -> list[StepRun]: ...

    def cached(self, cache_key: str) -> StepRun | None:
        """The newest step run that computed ``cache_key``."""
        ...

    def blob_references(self) -> tuple[set[str], set[str]]: ...

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        """The objects that reference any of ``digests`` directly, in every project."""
        ...


class AutomationStore(Protocol):
    """The automation's jobs (one per trigger event), trigger cursors and its
    append-only decision log. Every state change is written with its event, atomically."""

    def arm(
        self,
        policy: str,
        trigger: str,
        cursor: str,
        event: NewAutomationEvent,
        project: str = "default",
    ) -> bool:
        """Record where ``trigger`` starts counting (once); False when it was armed already."""
        ...

    def cursors(self, policy: str, project: str = "default") -> dict[str, str]:
        """Each armed trigger's starting point."""
        ...

    def lease(
        self, policy: str, owner: str, until: int, now: int, project: str = "default"
    ) -> bool:
        """Take or renew ``owner``'s hold on ``policy`` until ``until`` (ms); False while
        another owner holds it (its lease ends at its ``until``)."""
        ...

    def holder(self, policy: str, now: int, project: str = "default") -> str | None:
        """Who holds ``policy`` at ``now``, if anyone."""
        ...

    def release(self, policy: str, owner: str, project: str = "default") -> None:
        """Give up ``owner``'s hold on ``policy`` (nothing when it holds none)."""
        ...

    def move_cursor(
        self, policy: str, trigger: str, old: str, new: str, project: str = "default"
    ) -> bool:
        """Move a trigger's cursor from ``old``; False when it is no longer ``old``."""
        ...

    def open_job(
        self,
        new: NewJob,
        event: NewAutomationEvent,
        cursor: tuple[str, str] | None = None,
        project: str = "default",
    ) -> Job | None:
        """Open the job of one trigger event with its event, moving the trigger's cursor
        from ``cursor[0]`` to ``cursor[1]``; None (and nothing written) when that event
        (``new.dedupe``) opened a job already or the cursor moved meanwhile. An active
        job is refused (Conflict) while the policy has one."""
        ...

    def advance(
        self,
        job_id: int,
        expected: JobState,
        state: JobState,
        data: str,
        events: Sequence[NewAutomationEvent],
    ) -> Job:
        """Move a job on from ``expected`` with its events; Conflict when it moved meanwhile."""
        ...

    def job(self, job_id: int) -> Job: ...

    def jobs(
        self, policy: str | None = None, *, active: bool = False, project: str = "default"
    ) -> list[Job]:
        """Jobs oldest first (only those not finished with ``active``)."""
        ...

    def last_job(self, policy: str, project: str = "default") -> Job | None:
        """The newest job of ``policy`` that was not skipped."""
        ...

    def last_event_id(self, project: str = "default") -> int:
        """The id of the newest decision (0 when there is none)."""
        ...

    def record(self, event: NewAutomationEvent, project: str = "default") -> AutomationEvent: ...

    def events(
        self,
        policy: str | None = None,
        *,
        after: int = 0,
        job_id: int | None = None,
        project: str = "default",
    ) -> list[AutomationEvent]:
        """Decisions with an id above ``after``, oldest first."""
        ...


class Store(Protocol):
    """A metadata store: its aggregates, and the lifetime of its connections."""

    @property
    def experiments(self) -> ExperimentStore: ...

    @property
    def runs(self) -> RunStore: ...

    @property
    def datasets(self) -> DatasetStore: ...

    @property
    def models(self) -> ModelStore: ...

    @property
    def evaluations(self) -> EvaluationStore: ...

    @property
    def deployments(self) -> DeploymentStore: ...

    @property
    def predictions(self) -> PredictionStore: ...

    @property
    def monitors(self) -> MonitorStore: ...

    @property
    def pipelines(self) -> PipelineStore: ...

    @property
    def automation(self) -> AutomationStore: ...

    def study_storage(self) -> Any:
        """Where sweeps keep their Optuna studies (an Optuna storage)."""
        ...

    def close(self) -> None: ...
