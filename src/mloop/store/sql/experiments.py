"""Projects and experiments in SQL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import NotFound
from mloop.store import validate
from mloop.store.entities import Experiment, now_ms
from mloop.store.interfaces import ExperimentSummary
from mloop.store.sql.engine import writer
from mloop.store.sql.errors import translate_errors
from mloop.store.sql.projects import ensure_project
from mloop.store.sql.schema import experiments, projects, runs
from mloop.store.sql.upsert import insert_ignore


@translate_errors
class SqlExperimentStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def ensure(self, name: str, project: str = "default") -> Experiment:
        validate.key("experiment", name)
        validate.key("project", project)
        try:
            return self.get_by_name(name, project)
        except NotFound:
            pass
        now = now_ms()
        with writer(self._engine).begin() as conn:
            project_id = ensure_project(conn, project, now)
            conn.execute(
                insert_ignore(conn, experiments, ["project_id", "name"]).values(
                    project_id=project_id, name=name, created_at=now
                )
            )
        return self.get_by_name(name, project)

    def get(self, experiment_id: int) -> Experiment:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(experiments).where(experiments.c.id == experiment_id)
            ).first()
        if row is None:
            raise NotFound(f"no experiment with id {experiment_id}")
        return _experiment(row)

    def get_by_name(self, name: str, project: str = "default") -> Experiment:
        query = (
            sa.select(experiments)
            .join(projects, projects.c.id == experiments.c.project_id)
            .where(experiments.c.name == name, projects.c.name == project)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no experiment named {name!r} in project {project!r}")
        return _experiment(row)

    def list(self) -> list[ExperimentSummary]:
        stats = (
            sa.select(
                runs.c.experiment_id,
                sa.func.count().label("n"),
                sa.func.max(runs.c.start_time).label("last"),
            )
            .group_by(runs.c.experiment_id)
            .subquery()
        )
        query = (
            sa.select(experiments, projects.c.name.label("project"), stats.c.n, stats.c.last)
            .join(projects, projects.c.id == experiments.c.project_id)
            .outerjoin(stats, stats.c.experiment_id == experiments.c.id)
            .order_by(projects.c.name, experiments.c.name)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            ExperimentSummary(_experiment(row), row.project, row.n or 0, row.last) for row in rows
        ]


def _experiment(row: sa.Row[tuple[object, ...]]) -> Experiment:
    return Experiment(
        id=row.id, project_id=row.project_id, name=row.name, created_at=row.created_at
    )
