"""Pipeline runs and step runs, in SQL; step runs are found again by cache key."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import InvalidArgument, NotFound
from mloop.store import validate
from mloop.store.entities import (
    BlobUser,
    NewStepRun,
    PipelineRun,
    PipelineStatus,
    StepRun,
    StepStatus,
)
from mloop.store.sql.engine import writer
from mloop.store.sql.errors import translate_errors
from mloop.store.sql.projects import ensure_project
from mloop.store.sql.rows import require_run
from mloop.store.sql.schema import pipeline_runs, projects, step_runs
from mloop.store.sql.upsert import insert_replace


@translate_errors
class SqlPipelineStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def create_run(self, run: PipelineRun, project: str = "default") -> PipelineRun:
        validate.run_id(run.id)
        validate.key("pipeline", run.pipeline)
        validate.key("executor", run.executor)
        with self._writer.begin() as conn:
            require_run(conn, run.run_id)
            conn.execute(
                pipeline_runs.insert().values(
                    id=run.id,
                    project_id=ensure_project(conn, project, run.created_at),
                    pipeline=run.pipeline,
                    params=run.params,
                    status=PipelineStatus(run.status).value,
                    executor=run.executor,
                    run_id=run.run_id,
                    user_name=run.user,
                    created_at=run.created_at,
                    resumed_from=run.resumed_from,
                )
            )
        return self.get_run(run.id)

    def finish_run(
        self, run_id: str, status: PipelineStatus, ended_at: int, error: str | None = None
    ) -> None:
        with self._writer.begin() as conn:
            done = conn.execute(
                pipeline_runs.update()
                .where(pipeline_runs.c.id == run_id)
                .values(status=PipelineStatus(status).value, ended_at=ended_at, error=error)
            )
            if done.rowcount == 0:
                raise NotFound(f"no pipeline run {run_id}")

    def get_run(self, run_id: str) -> PipelineRun:
        """The run with id ``run_id`` (or the one whose id starts with it, 4+ characters)."""
        if not isinstance(run_id, str) or len(run_id) < 4:
            raise InvalidArgument(f"a pipeline run id has at least 4 characters, got {run_id!r}")
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(pipeline_runs).where(pipeline_runs.c.id.startswith(run_id)).limit(3)
            ).all()
        if not rows:
            raise NotFound(f"no pipeline run {run_id}: `mloop pipeline list` shows them")
        if len(rows) > 1:
            raise InvalidArgument(f"{run_id!r} starts several pipeline run ids: give more")
        return _run(rows[0])

    def list_runs(
        self, pipeline: str | None = None, limit: int = 50, project: str = "default"
    ) -> list[PipelineRun]:
        query = (
            sa.select(pipeline_runs)
            .join(projects, projects.c.id == pipeline_runs.c.project_id)
            .where(projects.c.name == project)
            .order_by(pipeline_runs.c.created_at.desc())
            .limit(limit)
        )
        if pipeline is not None:
            query = query.where(pipeline_runs.c.pipeline == pipeline)
        with self._engine.connect() as conn:
            return [_run(row) for row in conn.execute(query).all()]

    def record_step(self, pipeline_run: str, new: NewStepRun) -> StepRun:
        """Record (or replace, on a retry) the step run of ``new.node``."""
        validate.key("step", new.step)
        validate.key("node", new.node)
        validate.digest("cache key", new.cache_key)
        with self._writer.begin() as conn:
            if new.run_id is not None:
                require_run(conn, new.run_id)
            values = {
                "pipeline_run_id": pipeline_run,
                "node": new.node,
                "step": new.step,
                "cache_key": new.cache_key,
                "status": StepStatus(new.status).value,
                "outputs": new.outputs,
                "run_id": new.run_id,
                "attempts": new.attempts,
                "started_at": new.started_at,
                "ended_at": new.ended_at,
                "error": new.error,
                "reused_from": new.reused_from,
            }
            columns = [c for c in values if c not in ("pipeline_run_id", "node")]
            conn.execute(
                insert_replace(conn, step_runs, ["pipeline_run_id", "node"], columns).values(values)
            )
            row = conn.execute(
                sa.select(step_runs).where(
                    step_runs.c.pipeline_run_id == pipeline_run, step_runs.c.node == new.node
                )
            ).one()
        return _step(row)

    def steps(self, pipeline_run: str) -> list[StepRun]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(step_runs)
                .where(step_runs.c.pipeline_run_id == pipeline_run)
                .order_by(step_runs.c.started_at, step_runs.c.id)
            ).all()
        return [_step(row) for row in rows]

    def cached(self, cache_key: str) -> StepRun | None:
        """The newest step run that computed ``cache_key`` successfully."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(step_runs)
                .where(
                    step_runs.c.cache_key == cache_key,
                    step_runs.c.status == StepStatus.DONE.value,
                )
                .order_by(step_runs.c.id.desc())
                .limit(1)
            ).first()
        return None if row is None else _step(row)

    def blob_references(self) -> tuple[set[str], set[str]]:
        import json

        files: set[str] = set()
        trees: set[str] = set()
        with self._engine.connect() as conn:
            for text in conn.scalars(sa.select(step_runs.c.outputs)):
                output = json.loads(text) if text else None
                if output and output.get("digest"):
                    (trees if output.get("kind") == "model" else files).add(output["digest"])
        return files, trees

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        import json

        users = []
        query = sa.select(step_runs.c.pipeline_run_id, step_runs.c.node, step_runs.c.outputs)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(step_runs.c.id)).all()
        for row in rows:
            output = json.loads(row.outputs) if row.outputs else None
            digest = output.get("digest") if output else None
            if isinstance(digest, str) and digest in digests:
                users.append(BlobUser(digest, "pipeline step", f"{row.pipeline_run_id}/{row.node}"))
        return users


def _run(row: sa.Row[tuple[object, ...]]) -> PipelineRun:
    return PipelineRun(
        id=str(row.id),
        pipeline=str(row.pipeline),
        params=str(row.params),
        status=PipelineStatus(row.status),
        executor=str(row.executor),
        run_id=str(row.run_id),
        user=str(row.user_name),
        created_at=int(row.created_at),
        ended_at=None if row.ended_at is None else int(row.ended_at),
        error=None if row.error is None else str(row.error),
        resumed_from=None if row.resumed_from is None else str(row.resumed_from),
    )


def _step(row: sa.Row[tuple[object, ...]]) -> StepRun:
    return StepRun(
        id=int(row.id),
        pipeline_run=str(row.pipeline_run_id),
        node=str(row.node),
        step=str(row.step),
        cache_key=str(row.cache_key),
        status=StepStatus(row.status),
        outputs=str(row.outputs),
        run_id=None if row.run_id is None else str(row.run_id),
        attempts=int(row.attempts),
        started_at=int(row.started_at),
        ended_at=int(row.ended_at),
        error=None if row.error is None else str(row.error),
        reused_from=None if row.reused_from is None else int(row.reused_from),
    )
