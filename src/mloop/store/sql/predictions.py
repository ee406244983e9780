"""The prediction log's index (segments by deployment, model version, time), labels, and
the requests a model could not score."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import InvalidArgument, NotFound
from mloop.store import validate
from mloop.store.entities import BlobUser, Failure, Label, NewSegment, PredictionSegment, now_ms
from mloop.store.sql.deployments import find_deployment
from mloop.store.sql.engine import writer
from mloop.store.sql.errors import translate_errors
from mloop.store.sql.schema import (
    deployments,
    model_versions,
    prediction_failures,
    prediction_labels,
    prediction_segments,
)
from mloop.store.sql.upsert import insert_replace

_CHUNK = 500  # request ids per IN (...) query


@translate_errors
class SqlPredictionStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def add_segment(self, new: NewSegment, project: str = "default") -> PredictionSegment:
        validate.segment(new)
        with self._writer.begin() as conn:
            deployment_id = (
                None if new.deployment is None else find_deployment(conn, new.deployment, project)
            )
            if (
                new.version_id is not None
                and conn.scalar(
                    sa.select(model_versions.c.id).where(model_versions.c.id == new.version_id)
                )
                is None
            ):
                raise NotFound(f"no model version with id {new.version_id}")
            inserted = conn.execute(
                prediction_segments.insert().values(
                    digest=new.digest,
                    rows=new.rows,
                    start_time=new.start,
                    end_time=new.end,
                    package=new.package,
                    model=new.model,
                    deployment_id=deployment_id,
                    revision=new.revision,
                    version_id=new.version_id,
                    created_at=now_ms(),
                )
            ).inserted_primary_key
            assert inserted is not None
            return _segments(conn, prediction_segments.c.id == int(inserted[0]))[0]

    def segments(
        self,
        *,
        deployment: str | None = None,
        version_id: int | None = None,
        start: int | None = None,
        end: int | None = None,
        project: str = "default",
    ) -> list[PredictionSegment]:
        """Segments overlapping [start, end] (ms), oldest first."""
        with self._engine.connect() as conn:
            where: list[sa.ColumnElement[bool]] = []
            if deployment is not None:
                where.append(
                    prediction_segments.c.deployment_id
                    == find_deployment(conn, deployment, project)
                )
            if version_id is not None:
                where.append(prediction_segments.c.version_id == version_id)
            if start is not None:
                where.append(prediction_segments.c.end_time >= start)
            if end is not None:
                where.append(prediction_segments.c.start_time <= end)
            return _segments(conn, sa.and_(sa.true(), *where))

    def add_failures(self, batch: Sequence[Failure], project: str = "default") -> None:
        for failure in batch:
            validate.request_id(failure.request_id)
            if not isinstance(failure.error, str) or not isinstance(failure.model, str):
                raise InvalidArgument("a failure's model and error are text")
        if not batch:
            return
        with self._writer.begin() as conn:
            ids = {
                name: find_deployment(conn, name, project)
                for name in {f.deployment for f in batch if f.deployment is not None}
            }
            conn.execute(
                prediction_failures.insert(),
                [
                    {
                        "request_id": f.request_id,
                        "time": f.time,
                        "rows": f.rows,
                        "model": f.model,
                        "error": f.error[:2000],
                        "deployment_id": None if f.deployment is None else ids[f.deployment],
                        "revision": f.revision,
                    }
                    for f in batch
                ],
            )

    def failures(
        self,
        *,
        deployment: str | None = None,
        start: int | None = None,
        end: int | None = None,
        project: str = "default",
    ) -> list[Failure]:
        with self._engine.connect() as conn:
            query = sa.select(prediction_failures, deployments.c.name.label("deployment_name"))
            query = query.outerjoin(
                deployments, deployments.c.id == prediction_failures.c.deployment_id
            )
            if deployment is not None:
                found = find_deployment(conn, deployment, project)
                query = query.where(prediction_failures.c.deployment_id == found)
            if start is not None:
                query = query.where(prediction_failures.c.time >= start)
            if end is not None:
                query = query.where(prediction_failures.c.time <= end)
            rows = conn.execute(query.order_by(prediction_failures.c.time)).all()
        return [
            Failure(r.request_id, r.time, r.rows, r.model, r.error, r.deployment_name, r.revision)
            for r in rows
        ]

    def add_labels(self, batch: Sequence[Label]) -> None:
        """Record ground truth; a label for the same request row replaces the older one."""
        validate.labels(batch)
        if not batch:
            return
        latest = {(label.request_id, label.row): label for label in batch}
        rows = [
            {"request_id": r, "row": n, "value": label.value, "created_at": label.created_at}
            for (r, n), label in latest.items()
        ]
        with self._writer.begin() as conn:
            conn.execute(
                insert_replace(
                    conn, prediction_labels, ["request_id", "row"], ["value", "created_at"]
                ),
                rows,
            )

    def labels(self, request_ids: Sequence[str]) -> list[Label]:
        """The labels recorded for any row of these requests."""
        ids = sorted(set(request_ids))
        found: list[Label] = []
        with self._engine.connect() as conn:
            for i in range(0, len(ids), _CHUNK):
                query = sa.select(prediction_labels).where(
                    prediction_labels.c.request_id.in_(ids[i : i + _CHUNK])
                )
                found.extend(
                    Label(row.request_id, row.row, row.value, row.created_at)
                    for row in conn.execute(query)
                )
        return found

    def blob_references(self) -> tuple[set[str], set[str]]:
        with self._engine.connect() as conn:
            digests = conn.scalars(sa.select(prediction_segments.c.digest).distinct()).all()
        return set(digests), set()

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        query = (
            sa.select(prediction_segments, deployments.c.name.label("deployment_name"))
            .outerjoin(deployments, deployments.c.id == prediction_segments.c.deployment_id)
            .where(prediction_segments.c.digest.in_(sorted(digests)))
            .order_by(prediction_segments.c.id)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            BlobUser(
                r.digest,
                "prediction segment",
                f"{r.deployment_name or r.model} segment {r.id} ({r.rows} rows)",
            )
            for r in rows
        ]


def _segments(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[PredictionSegment]:
    rows = conn.execute(
        sa.select(prediction_segments, deployments.c.name.label("deployment_name"))
        .outerjoin(deployments, deployments.c.id == prediction_segments.c.deployment_id)
        .where(where)
        .order_by(prediction_segments.c.start_time, prediction_segments.c.id)
    ).all()
    return [
        PredictionSegment(
            id=row.id,
            digest=row.digest,
            rows=row.rows,
            start=row.start_time,
            end=row.end_time,
            package=row.package,
            model=row.model,
            deployment=row.deployment_name,
            revision=row.revision,
            version_id=row.version_id,
            created_at=row.created_at,
        )
        for row in rows
    ]
