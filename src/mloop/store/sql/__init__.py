"""The SQL metadata store: SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.store.sql import migrate
from mloop.store.sql.automation import SqlAutomationStore
from mloop.store.sql.datasets import SqlDatasetStore
from mloop.store.sql.deployments import SqlDeploymentStore
from mloop.store.sql.engine import create_engine
from mloop.store.sql.errors import database_error
from mloop.store.sql.evaluations import SqlEvaluationStore
from mloop.store.sql.experiments import SqlExperimentStore
from mloop.store.sql.models import SqlModelStore
from mloop.store.sql.monitors import SqlMonitorStore
from mloop.store.sql.pipelines import SqlPipelineStore
from mloop.store.sql.predictions import SqlPredictionStore
from mloop.store.sql.runs import SqlRunStore


class SqlStore:
    """Owns one engine; its aggregates share it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._experiments = SqlExperimentStore(engine)
        self._runs = SqlRunStore(engine)
        self._datasets = SqlDatasetStore(engine)
        self._models = SqlModelStore(engine)
        self._evaluations = SqlEvaluationStore(engine)
        self._deployments = SqlDeploymentStore(engine)
        self._predictions = SqlPredictionStore(engine)
        self._monitors = SqlMonitorStore(engine)
        self._pipelines = SqlPipelineStore(engine)
        self._automation = SqlAutomationStore(engine)

    @property
    def experiments(self) -> SqlExperimentStore:
        return self._experiments

    @property
    def runs(self) -> SqlRunStore:
        return self._runs

    @property
    def datasets(self) -> SqlDatasetStore:
        return self._datasets

    @property
    def models(self) -> SqlModelStore:
        return self._models

    @property
    def evaluations(self) -> SqlEvaluationStore:
        return self._evaluations

    @property
    def deployments(self) -> SqlDeploymentStore:
        return self._deployments

    @property
    def predictions(self) -> SqlPredictionStore:
        return self._predictions

    @property
    def monitors(self) -> SqlMonitorStore:
        return self._monitors

    @property
    def pipelines(self) -> SqlPipelineStore:
        return self._pipelines

    @property
    def automation(self) -> SqlAutomationStore:
        return self._automation

    def study_storage(self) -> Any:
        """An Optuna storage in this database, beside mloop's tables (Optuna creates and
        migrates its own); for sweeps, which need the ``sweeps`` extra."""
        import optuna

        url = self.engine.url.render_as_string(hide_password=False)
        return optuna.storages.RDBStorage(url)

    def close(self) -> None:
        self.engine.dispose()


def open_sql_store(uri: str) -> SqlStore:
    """Connect to ``uri`` and check that its schema is one this mloop can use."""
    engine = create_engine(uri)
    try:
        with _translated(engine):
            migrate.check_schema(engine)
        migrate.guard_writes(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine)


def upgrade_sql_store(uri: str) -> tuple[str | None, str]:
    """Create or migrate the schema at ``uri``; returns (revision before, revision after)."""
    engine = create_engine(uri, create=True)
    try:
        with _translated(engine):
            return migrate.upgrade(engine)
    finally:
        engine.dispose()


@contextmanager
def _translated(engine: Engine) -> Iterator[None]:
    try:
        yield
    except sa.exc.DBAPIError as exc:
        raise database_error(engine, exc) from None
