"""Tables of the metadata store (SQLAlchemy Core).

This is the current shape; the migrations under ``migrations/versions`` build
it step by step. ``SCHEMA_HEAD`` is the newest revision this code understands,
``KNOWN_REVISIONS`` all revisions it can upgrade from.
"""

from __future__ import annotations

import sqlalchemy as sa

from mloop.store.validate import KEY_LENGTH

SCHEMA_HEAD = "0009"
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009")
VERSION_TABLE = "mloop_schema_version"

# SQLite aliases only "INTEGER PRIMARY KEY" to the rowid, which makes appends cheap.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(KEY_LENGTH), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("experiment_id", sa.BigInteger, sa.ForeignKey("experiments.id"), nullable=False),
    sa.Column("name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("user_name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger),
    sa.Column("parent_id", sa.String(32), sa.ForeignKey("runs.id")),
    sa.Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    sa.Index("ix_runs_parent", "parent_id"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    # The value as a number when it reads as one, so filters can compare numerically.
    sa.Column("num", sa.Double),
    sa.Index("ix_params_key_value", "key", "value"),
    sa.Index("ix_params_key_num", "key", "num"),
)

# NaN is stored as NULL: SQLite cannot hold NaN, and both backends must agree.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("key", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Double),
    sa.Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Double),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_tags_key_value", "key", "value"),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("path", sa.String(1000), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("is_dir", sa.Boolean, nullable=False),
)

notes = sa.Table(
    "notes",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("outcome", sa.String(16)),
    sa.Column("user_name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("schema", sa.Text),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.BigInteger, sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("files", sa.BigInteger, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.BigInteger),
    sa.Column("profile", sa.String(64)),
    sa.Column("parent_id", sa.BigInteger, sa.ForeignKey("dataset_versions.id")),
    sa.Column("user_name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("source", sa.Text),
    sa.UniqueConstraint("dataset_id", "version"),
    sa.Index("ix_dataset_versions_digest", "dataset_id", "digest"),
)

dataset_version_tags = sa.Table(
    "dataset_version_tags",
    metadata,
    sa.Column("version_id", sa.BigInteger, sa.ForeignKey("dataset_versions.id"), primary_key=True),
    sa.Column("key", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("version_id", sa.BigInteger, sa.ForeignKey("dataset_versions.id"), primary_key=True),
    sa.Column("role", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_run_inputs_version", "version_id"),
)

registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

registered_model_tags = sa.Table(
    "registered_model_tags",
    metadata,
    sa.Column("model_id", sa.BigInteger, sa.ForeignKey("registered_models.id"), primary_key=True),
    sa.Column("key", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.BigInteger, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("package", sa.String(64), nullable=False),
    sa.Column("flavor", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id")),
    sa.Column("source", sa.Text),
    sa.Column("signature", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("user_name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("model_id", "version"),
    sa.Index("ix_model_versions_run", "run_id"),
)

model_version_tags = sa.Table(
    "model_version_tags",
    metadata,
    sa.Column("version_id", sa.BigInteger, sa.ForeignKey("model_versions.id"), primary_key=True),
    sa.Column("key", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model_id", sa.BigInteger, sa.ForeignKey("registered_models.id"), primary_key=True),
    sa.Column("alias", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("version_id", sa.BigInteger, sa.ForeignKey("model_versions.id"), nullable=False),
)

alias_events = sa.Table(
    "alias_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.BigInteger, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("alias", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("version_id", sa.BigInteger, sa.ForeignKey("model_versions.id")),
    sa.Column("previous_id", sa.BigInteger, sa.ForeignKey("model_versions.id")),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("user_name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_alias_events_model_alias", "model_id", "alias", "created_at"),
)

evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("candidate", sa.String(64), nullable=False),
    sa.Column("candidate_version_id", sa.BigInteger, sa.ForeignKey("model_versions.id")),
    sa.Column("baseline_version_id", sa.BigInteger, sa.ForeignKey("model_versions.id")),
    sa.Column("dataset_version_id", sa.BigInteger, sa.ForeignKey("dataset_versions.id")),
    sa.Column("task", sa.String(32), nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("user_name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_evaluations_candidate", "candidate"),
    sa.Index("ix_evaluations_candidate_version", "candidate_version_id"),
)

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

deployment_revisions = sa.Table(
    "deployment_revisions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("deployment_id", sa.BigInteger, sa.ForeignKey("deployments.id"), nullable=False),
    sa.Column("number", sa.BigInteger, nullable=False),
    sa.Column("routes", sa.Text, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("source", sa.BigInteger, nullable=False),
    sa.Column("user_name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.UniqueConstraint("deployment_id", "number"),
)

prediction_segments = sa.Table(
    "prediction_segments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger, nullable=False),
    sa.Column("package", sa.String(64), nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("deployment_id", sa.BigInteger, sa.ForeignKey("deployments.id")),
    sa.Column("revision", sa.BigInteger),
    sa.Column("version_id", sa.BigInteger, sa.ForeignKey("model_versions.id")),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_prediction_segments_deployment", "deployment_id", "start_time"),
    sa.Index("ix_prediction_segments_version", "version_id", "start_time"),
)

prediction_failures = sa.Table(
    "prediction_failures",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("time", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("deployment_id", sa.BigInteger, sa.ForeignKey("deployments.id")),
    sa.Column("revision", sa.BigInteger),
    sa.Index("ix_prediction_failures_deployment", "deployment_id", "time"),
)

prediction_labels = sa.Table(
    "prediction_labels",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("row", sa.Integer, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("deployment_id", sa.BigInteger, sa.ForeignKey("deployments.id"), nullable=False),
    sa.Column("reference", sa.String(KEY_LENGTH), nullable=False),
    sa.Column(
        "reference_version_id", sa.BigInteger, sa.ForeignKey("dataset_versions.id"), nullable=False
    ),
    sa.Column("window", sa.String(64), nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("user_name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("baseline", sa.String(64)),
    sa.UniqueConstraint("project_id", "name"),
)

monitor_results = sa.Table(
    "monitor_results",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("monitor_id", sa.BigInteger, sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("window_index", sa.BigInteger, nullable=False),
    sa.Column("window_start", sa.BigInteger, nullable=False),
    sa.Column("window_end", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("drifted", sa.Boolean, nullable=False),
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("report", sa.String(64)),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("monitor_id", "window_index"),
)

monitor_events = sa.Table(
    "monitor_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("monitor_id", sa.BigInteger, sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("result_id", sa.BigInteger, sa.ForeignKey("monitor_results.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_monitor_events_monitor", "monitor_id", "id"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("event_id", sa.BigInteger, sa.ForeignKey("monitor_events.id"), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("secret_env", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
)

pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("pipeline", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("executor", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("user_name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("ended_at", sa.BigInteger),
    sa.Column("error", sa.Text),
    sa.Column("resumed_from", sa.String(32)),
    sa.Index("ix_pipeline_runs_pipeline", "pipeline", "created_at"),
)

step_runs = sa.Table(
    "step_runs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("pipeline_run_id", sa.String(32), sa.ForeignKey("pipeline_runs.id"), nullable=False),
    sa.Column("node", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("step", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("cache_key", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("outputs", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id")),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("ended_at", sa.BigInteger, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("reused_from", sa.BigInteger),
    sa.UniqueConstraint("pipeline_run_id", "node"),
    sa.Index("ix_step_runs_cache_key", "cache_key", "status"),
)

automation_jobs = sa.Table(
    "automation_jobs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("policy", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("trigger", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("dedupe", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("project_id", "policy", "dedupe"),
    sa.Index("ix_automation_jobs_state", "project_id", "state"),
)

automation_cursors = sa.Table(
    "automation_cursors",
    metadata,
    sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("policy", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("trigger", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("cursor", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

automation_leases = sa.Table(
    "automation_leases",
    metadata,
    sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("policy", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("until", sa.BigInteger, nullable=False),
)

automation_events = sa.Table(
    "automation_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("policy", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("job_id", sa.BigInteger, sa.ForeignKey("automation_jobs.id")),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("user_name", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_automation_events_policy", "project_id", "policy", "id"),
)
