"""Runs and what hangs off them (params, tags, artifacts, notes) in SQL."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import Conflict, NotFound
from mloop.store import names, validate
from mloop.store.entities import (
    ArtifactEntry,
    BlobUser,
    MetricPoint,
    Note,
    NoteOutcome,
    Page,
    Run,
    RunStatus,
)
from mloop.store.interfaces import POINTS_PER_WRITE, RunQuery
from mloop.store.sql import metrics as metric_sql
from mloop.store.sql import search as search_sql
from mloop.store.sql.engine import Pacer, writer
from mloop.store.sql.errors import translate_errors
from mloop.store.sql.rows import load_runs, require_run
from mloop.store.sql.schema import artifacts, notes, params, runs, tags
from mloop.store.sql.upsert import insert_ignore, insert_replace


@translate_errors
class SqlRunStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self._pacer = Pacer(engine)

    def create(
        self,
        experiment_id: int,
        *,
        name: str | None,
        user: str,
        start_time: int,
        parent_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Run:
        name = validate.key("run name", name) if name is not None else names.run_name()
        validate.key("user name", user)
        validate.text_values("tag", tags or {})
        run_id = uuid.uuid4().hex
        with self._writer.begin() as conn:
            if parent_id is not None:
                require_run(conn, validate.run_id(parent_id))
            conn.execute(
                runs.insert().values(
                    id=run_id,
                    experiment_id=experiment_id,
                    name=name,
                    status=RunStatus.RUNNING.value,
                    user_name=user,
                    start_time=start_time,
                    parent_id=parent_id,
                )
            )
            _set_tags(conn, run_id, tags or {})
        return Run(
            id=run_id,
            experiment_id=experiment_id,
            name=name,
            status=RunStatus.RUNNING,
            user=user,
            start_time=start_time,
            end_time=None,
            parent_id=parent_id,
            tags=dict(tags or {}),
        )

    def get(self, run_id: str) -> Run:
        validate.run_id(run_id)
        with self._engine.connect() as conn:
            found = load_runs(conn, sa.select(runs).where(runs.c.id == run_id))
        if not found:
            raise NotFound(f"no run with id {run_id}")
        return found[0]

    def set_status(self, run_id: str, status: RunStatus, end_time: int | None) -> None:
        validate.run_id(run_id)
        with self._writer.begin() as conn:
            result = conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(status=RunStatus(status).value, end_time=end_time)
            )
            if result.rowcount == 0:
                raise NotFound(f"no run with id {run_id}")

    def log_params(self, run_id: str, params_: Mapping[str, str]) -> None:
        validate.run_id(run_id)
        validate.text_values("param", params_)
        if not params_:
            return
        rows = [
            {"run_id": run_id, "key": k, "value": v, "num": validate.as_number(v)}
            for k, v in sorted(params_.items())
        ]
        with self._writer.begin() as conn:
            require_run(conn, run_id)
            conn.execute(insert_ignore(conn, params, ["run_id", "key"]), rows)
            stored = dict(
                conn.execute(
                    sa.select(params.c.key, params.c.value).where(
                        params.c.run_id == run_id, params.c.key.in_(list(params_))
                    )
                ).all()
            )
            changed = {k: v for k, v in params_.items() if stored[k] != v}
            if changed:
                key, value = next(iter(changed.items()))
                raise Conflict(
                    f"param {key!r} of run {run_id} is already {stored[key]!r}, cannot change it "
                    f"to {value!r}: params are immutable once logged (start a new run, or log "
                    "the new value under another key)"
                )

    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        validate.run_id(run_id)
        validate.points(points)
        for start in range(0, len(points), POINTS_PER_WRITE):
            with self._pacer, self._writer.begin() as conn:
                require_run(conn, run_id)
                metric_sql.insert_points(conn, run_id, points[start : start + POINTS_PER_WRITE])

    def set_tags(self, run_id: str, tags_: Mapping[str, str]) -> None:
        validate.run_id(run_id)
        validate.text_values("tag", tags_)
        with self._writer.begin() as conn:
            require_run(conn, run_id)
            _set_tags(conn, run_id, tags_)

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        validate.run_id(run_id)
        with self._engine.connect() as conn:
            require_run(conn, run_id)
            return metric_sql.history(conn, run_id, key)

    def search(self, query: RunQuery) -> Page[Run]:
        with self._engine.connect() as conn:
            return search_sql.search(conn, query)

    def record_artifacts(self, run_id: str, entries: Sequence[ArtifactEntry]) -> None:
        validate.run_id(run_id)
        validate.artifacts(entries)
        rows = [
            {
                "run_id": run_id,
                "path": e.path,
                "digest": e.digest,
                "size": e.size,
                "is_dir": e.is_dir,
            }
            for e in entries
        ]
        with self._writer.begin() as conn:
            require_run(conn, run_id)
            if rows:
                stmt = insert_replace(
                    conn, artifacts, ["run_id", "path"], ["digest", "size", "is_dir"]
                )
                conn.execute(stmt, rows)

    def artifacts(self, run_id: str) -> list[ArtifactEntry]:
        validate.run_id(run_id)
        query = sa.select(artifacts).where(artifacts.c.run_id == run_id).order_by(artifacts.c.path)
        with self._engine.connect() as conn:
            require_run(conn, run_id)
            rows = conn.execute(query).all()
        return [ArtifactEntry(r.path, r.digest, r.size, bool(r.is_dir)) for r in rows]

    def add_note(
        self, run_id: str, text: str, *, outcome: NoteOutcome | None, user: str, created_at: int
    ) -> Note:
        validate.run_id(run_id)
        validate.text_values("note", {"text": text})
        outcome_value = None if outcome is None else NoteOutcome(outcome).value
        with self._writer.begin() as conn:
            require_run(conn, run_id)
            inserted = conn.execute(
                notes.insert().values(
                    run_id=run_id,
                    text=text,
                    outcome=outcome_value,
                    user_name=user,
                    created_at=created_at,
                )
            ).inserted_primary_key
            assert inserted is not None
            note_id = int(inserted[0])
        return Note(
            note_id, run_id, text, NoteOutcome(outcome) if outcome else None, user, created_at
        )

    def notes(self, run_id: str) -> list[Note]:
        validate.run_id(run_id)
        query = sa.select(notes).where(notes.c.run_id == run_id).order_by(notes.c.id)
        with self._engine.connect() as conn:
            require_run(conn, run_id)
            rows = conn.execute(query).all()
        return [
            Note(
                r.id,
                r.run_id,
                r.text,
                NoteOutcome(r.outcome) if r.outcome else None,
                r.user_name,
                r.created_at,
            )
            for r in rows
        ]

    def blob_references(self) -> tuple[set[str], set[str]]:
        query = sa.select(artifacts.c.digest, artifacts.c.is_dir).distinct()
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        files = {r.digest for r in rows if not r.is_dir}
        trees = {r.digest for r in rows if r.is_dir}
        return files, trees

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        query = sa.select(artifacts.c.run_id, artifacts.c.path, artifacts.c.digest).where(
            artifacts.c.digest.in_(sorted(digests))
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(artifacts.c.run_id, artifacts.c.path)).all()
        return [BlobUser(r.digest, "artifact", f"runs:/{r.run_id}/{r.path}") for r in rows]


def _set_tags(conn: sa.Connection, run_id: str, values: Mapping[str, str]) -> None:
    if values:
        rows = [{"run_id": run_id, "key": k, "value": v} for k, v in sorted(values.items())]
        conn.execute(insert_replace(conn, tags, ["run_id", "key"], ["value"]), rows)
