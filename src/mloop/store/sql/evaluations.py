"""Recorded evaluations of candidate models, in SQL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import InvalidArgument, NotFound
from mloop.store import validate
from mloop.store.entities import Evaluation, NewEvaluation
from mloop.store.sql.engine import writer
from mloop.store.sql.errors import translate_errors
from mloop.store.sql.schema import dataset_versions, evaluations, model_versions


@translate_errors
class SqlEvaluationStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def add(self, new: NewEvaluation) -> Evaluation:
        validate.digest("candidate package", new.candidate)
        validate.key("user name", new.user)
        validate.key("task", new.task)
        if not isinstance(new.result, str) or "\x00" in new.result:
            raise InvalidArgument("an evaluation result is JSON text without NUL characters")
        with self._writer.begin() as conn:
            for table, value in (
                (model_versions, new.candidate_version_id),
                (model_versions, new.baseline_version_id),
                (dataset_versions, new.dataset_version_id),
            ):
                if (
                    value is not None
                    and conn.scalar(sa.select(table.c.id).where(table.c.id == value)) is None
                ):
                    raise NotFound(f"no {table.name[:-1].replace('_', ' ')} with id {value}")
            inserted = conn.execute(
                evaluations.insert().values(
                    candidate=new.candidate,
                    candidate_version_id=new.candidate_version_id,
                    baseline_version_id=new.baseline_version_id,
                    dataset_version_id=new.dataset_version_id,
                    task=new.task,
                    passed=new.passed,
                    result=new.result,
                    user_name=new.user,
                    created_at=new.created_at,
                )
            ).inserted_primary_key
        assert inserted is not None
        return self.get(int(inserted[0]))

    def get(self, evaluation_id: int) -> Evaluation:
        with self._engine.connect() as conn:
            found = _load(conn, evaluations.c.id == evaluation_id)
        if not found:
            raise NotFound(f"no evaluation with id {evaluation_id}")
        return found[0]

    def of_version(self, version_id: int) -> list[Evaluation]:
        with self._engine.connect() as conn:
            return _load(conn, evaluations.c.candidate_version_id == version_id)


def _load(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[Evaluation]:
    rows = conn.execute(sa.select(evaluations).where(where).order_by(evaluations.c.id.desc())).all()
    return [
        Evaluation(
            id=row.id,
            candidate=row.candidate,
            candidate_version_id=row.candidate_version_id,
            baseline_version_id=row.baseline_version_id,
            dataset_version_id=row.dataset_version_id,
            task=row.task,
            passed=bool(row.passed),
            result=row.result,
            user=row.user_name,
            created_at=row.created_at,
        )
        for row in rows
    ]
