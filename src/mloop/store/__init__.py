"""The metadata store: interfaces by aggregate, and the implementations behind them.

``open_store(uri)`` is the one way in: ``sqlite:///...`` and ``postgresql://...``
give the SQL store; the team server's REST client will plug in here for
``http(s)://`` URIs.
"""

from __future__ import annotations

from mloop.config import store_scheme
from mloop.errors import InvalidArgument
from mloop.store.entities import (
    AliasAction,
    AliasEvent,
    ArtifactEntry,
    AutomationEvent,
    BlobUser,
    Dataset,
    DatasetKind,
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
    StepStatus,
    WebhookDelivery,
    WebhookTarget,
)
from mloop.store.interfaces import (
    POINTS_PER_WRITE,
    AutomationStore,
    DatasetStore,
    DeploymentStore,
    EvaluationStore,
    ExperimentStore,
    ExperimentSummary,
    ModelStore,
    MonitorStore,
    PipelineStore,
    PredictionStore,
    RunQuery,
    RunStore,
    Store,
)

__all__ = [
    "POINTS_PER_WRITE",
    "AliasAction",
    "AliasEvent",
    "ArtifactEntry",
    "AutomationEvent",
    "AutomationStore",
    "BlobUser",
    "Dataset",
    "DatasetKind",
    "DatasetStore",
    "DatasetVersion",
    "DeliveryState",
    "Deployment",
    "DeploymentStore",
    "Evaluation",
    "EvaluationStore",
    "Experiment",
    "ExperimentStore",
    "ExperimentSummary",
    "Failure",
    "Job",
    "JobState",
    "Label",
    "MetricPoint",
    "ModelStore",
    "ModelVersion",
    "ModelVersionStatus",
    "Monitor",
    "MonitorEvent",
    "MonitorResult",
    "MonitorStore",
    "NewAutomationEvent",
    "NewEvaluation",
    "NewJob",
    "NewModelVersion",
    "NewMonitor",
    "NewMonitorEvent",
    "NewMonitorResult",
    "NewSegment",
    "NewStepRun",
    "NewVersion",
    "Note",
    "NoteOutcome",
    "Page",
    "PipelineRun",
    "PipelineStatus",
    "PipelineStore",
    "PredictionSegment",
    "PredictionStore",
    "RegisteredModel",
    "Revision",
    "RevisionAction",
    "Route",
    "Run",
    "RunInput",
    "RunQuery",
    "RunStatus",
    "RunStore",
    "StepRun",
    "StepStatus",
    "Store",
    "WebhookDelivery",
    "WebhookTarget",
    "open_store",
    "upgrade_store",
]


def open_store(uri: str) -> Store:
    """Open the store at ``uri``, refusing one whose schema this mloop cannot use."""
    if store_scheme(uri) is not None:
        from mloop.store.sql import open_sql_store

        return open_sql_store(uri)
    raise InvalidArgument(f"unsupported store URI {uri!r}: use sqlite:///PATH or postgresql://...")


def upgrade_store(uri: str) -> tuple[str | None, str]:
    """Create or migrate the schema at ``uri``; returns (revision before, revision after)."""
    if store_scheme(uri) is not None:
        from mloop.store.sql import upgrade_sql_store

        return upgrade_sql_store(uri)
    raise InvalidArgument(f"cannot upgrade {uri!r}: only SQL stores have a schema to upgrade")
