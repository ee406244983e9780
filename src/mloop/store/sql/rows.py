"""Reading runs with their params, latest metrics and tags in three queries."""

from __future__ import annotations

import math
from collections.abc import Sequence

import sqlalchemy as sa

from mloop.errors import NotFound
from mloop.store.entities import Run, RunStatus
from mloop.store.sql.schema import latest_metrics, params, runs, tags

_CHUNK = 1000


def require_run(conn: sa.Connection, run_id: str) -> None:
    if conn.scalar(sa.select(runs.c.id).where(runs.c.id == run_id)) is None:
        raise NotFound(f"no run with id {run_id}")


def load_runs(conn: sa.Connection, query: sa.Select[tuple[object, ...]]) -> list[Run]:
    """Runs selected by ``query`` (rows of the runs table), in its order, with their data."""
    rows = conn.execute(query).all()
    ids = [row.id for row in rows]
    run_params = _children(conn, params.c.run_id, params.c.key, params.c.value, ids)
    run_tags = _children(conn, tags.c.run_id, tags.c.key, tags.c.value, ids)
    run_metrics = _children(
        conn, latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value, ids
    )
    return [
        Run(
            id=row.id,
            experiment_id=row.experiment_id,
            name=row.name,
            status=RunStatus(row.status),
            user=row.user_name,
            start_time=row.start_time,
            end_time=row.end_time,
            parent_id=row.parent_id,
            params={k: str(v) for k, v in run_params.get(row.id, {}).items()},
            metrics={
                k: math.nan if v is None else float(v)  # type: ignore[arg-type]
                for k, v in run_metrics.get(row.id, {}).items()
            },
            tags={k: str(v) for k, v in run_tags.get(row.id, {}).items()},
        )
        for row in rows
    ]


def _children(
    conn: sa.Connection,
    run_id: sa.Column[str],
    key: sa.Column[str],
    value: sa.Column[object],
    ids: Sequence[str],
) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = conn.execute(sa.select(run_id, key, value).where(run_id.in_(chunk))).all()
        for rid, k, v in rows:
            found.setdefault(rid, {})[k] = v
    return found
