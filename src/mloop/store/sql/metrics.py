"""Metric points in SQL: bulk appends and the latest value per key.

Points go in through the DBAPI's ``executemany`` with a statement prepared once
per dialect, skipping SQLAlchemy's per-row processing: the hot path of a
training loop. The latest value per key (highest step, then newest time) is
kept in ``latest_metrics`` so filters and tables never scan the history.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import sqlalchemy as sa

from mloop.store.entities import MetricPoint
from mloop.store.sql.schema import latest_metrics, metrics
from mloop.store.sql.upsert import insert_replace

_COLUMNS = "run_id, key, step, ts, value"


def insert_points(conn: sa.Connection, run_id: str, points: Sequence[MetricPoint]) -> None:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO metrics ({_COLUMNS}) VALUES ({', '.join([mark] * 5)})"
    # NaN (the only value unequal to itself) is stored as NULL.
    rows = [
        (run_id, p.key, p.step, p.timestamp, p.value if p.value == p.value else None)
        for p in points
    ]
    conn.exec_driver_sql(sql, rows)
    _update_latest(conn, run_id, points)


def _update_latest(conn: sa.Connection, run_id: str, points: Sequence[MetricPoint]) -> None:
    newest: dict[str, MetricPoint] = {}
    for p in points:
        best = newest.get(p.key)
        if (
            best is None
            or p.step > best.step
            or (p.step == best.step and p.timestamp >= best.timestamp)
        ):
            newest[p.key] = p
    rows = [
        {
            "run_id": run_id,
            "key": p.key,
            "step": p.step,
            "ts": p.timestamp,
            "value": None if math.isnan(p.value) else float(p.value),
        }
        for p in sorted(newest.values(), key=lambda p: p.key)  # one lock order: no deadlocks
    ]
    stmt = insert_replace(
        conn,
        latest_metrics,
        ["run_id", "key"],
        ["step", "ts", "value"],
        where=lambda new: sa.or_(
            new.step > latest_metrics.c.step,
            sa.and_(new.step == latest_metrics.c.step, new.ts >= latest_metrics.c.ts),
        ),
    )
    conn.execute(stmt, rows)


def history(conn: sa.Connection, run_id: str, key: str) -> list[MetricPoint]:
    query = (
        sa.select(metrics.c.step, metrics.c.ts, metrics.c.value)
        .where(metrics.c.run_id == run_id, metrics.c.key == key)
        .order_by(metrics.c.step, metrics.c.ts, metrics.c.id)
    )
    return [
        MetricPoint(key, math.nan if value is None else value, step, ts)
        for step, ts, value in conn.execute(query)
    ]
