"""Reading the prediction log back: rows of a time range, joined with their labels."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pandas as pd

from mloop.blobs import Digest
from mloop.registry.times import to_ms
from mloop.store import PredictionSegment
from mloop.store.entities import now_ms
from mloop.tracking.client import Client
from mloop.tracking.fluent import default_client

Moment = datetime | str | int | timedelta

LABEL = "label"
LABEL_TIME = "label_time"


def predictions(
    deployment: str | None = None,
    start: Moment | None = None,
    end: Moment | None = None,
    *,
    client: Client | None = None,
    project: str = "default",
) -> pd.DataFrame:
    """Logged predictions of ``deployment`` (every deployment when None) between ``start``
    and ``end``, oldest first, with their ground truth where ``/feedback`` gave it.

    ``start`` and ``end`` are datetimes, ISO 8601 text, epoch ms, or a timedelta back
    from now (``timedelta(hours=1)``). Columns: ``request_id``, ``row``, ``time``,
    ``latency_ms``, ``deployment``, ``revision``, ``model`` (the version that answered),
    ``input.*``, ``output.*``, ``shadow.*`` when a shadow model ran, and ``label``
    (None where no label came yet) with ``label_time``. Rows still in a server's
    memory (not flushed yet) are not included.
    """
    client = client or default_client()
    lo, hi = _ms(start), _ms(end)
    segments = client.store.predictions.segments(
        deployment=deployment, start=lo, end=hi, project=project
    )
    frames = [_read(client, segment) for segment in segments]
    if not frames:
        return _empty()
    rows = pd.concat(frames, ignore_index=True)
    times = rows["time"]
    if lo is not None:
        rows = rows[times >= pd.Timestamp(lo, unit="ms", tz="UTC")]
    if hi is not None:
        rows = rows[rows["time"] <= pd.Timestamp(hi, unit="ms", tz="UTC")]
    rows = rows.sort_values(["time", "request_id", "row"], kind="stable", ignore_index=True)
    return _join_labels(client, rows)


def label_matches(prediction: Any, label: Any) -> bool:
    """Whether a prediction is its label: equal, or the same class as text (labels
    arrive as JSON, so a class 1 may come back as 1, 1.0 or "1")."""
    try:
        return bool(prediction == label) or class_key(prediction) == class_key(label)
    except (TypeError, ValueError):
        return False


def class_key(value: Any) -> str:
    """A class label as text, whole floats without their ``.0`` (1.0 and "1" are one)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def logged_rows(deployment: str, *, client: Client, project: str = "default") -> pd.DataFrame:
    """Every logged prediction of ``deployment`` in the order it was stored (segment by
    segment), joined with its labels: positions in it never change as the log grows."""
    segments = client.store.predictions.segments(deployment=deployment, project=project)
    frames = [_read(client, segment) for segment in sorted(segments, key=lambda s: s.id)]
    if not frames:
        return _empty()
    return _join_labels(client, pd.concat(frames, ignore_index=True))


def _ms(moment: Moment | None) -> int | None:
    if moment is None:
        return None
    if isinstance(moment, timedelta):
        return now_ms() - int(moment.total_seconds() * 1000)
    return to_ms(moment)


def _read(client: Client, segment: PredictionSegment) -> pd.DataFrame:
    frame = pd.read_parquet(io.BytesIO(client.blobs.get_bytes(Digest(segment.digest))))
    frame.insert(4, "deployment", segment.deployment)
    frame.insert(5, "revision", segment.revision)
    frame.insert(6, "model", segment.model)
    return frame


def _join_labels(client: Client, rows: pd.DataFrame) -> pd.DataFrame:
    found = client.store.predictions.labels(rows["request_id"].unique().tolist())
    labels = pd.DataFrame(
        {
            "request_id": [label.request_id for label in found],
            "row": pd.array([label.row for label in found], dtype="int32"),
            LABEL: [orjson.loads(label.value) for label in found],
            LABEL_TIME: pd.to_datetime([label.created_at for label in found], unit="ms", utc=True),
        }
    )
    return rows.merge(labels, on=["request_id", "row"], how="left")


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": pd.Series(dtype=object),
            "row": pd.Series(dtype="int32"),
            "time": pd.Series(dtype="datetime64[ms, UTC]"),
            "latency_ms": pd.Series(dtype=float),
            "deployment": pd.Series(dtype=object),
            "revision": pd.Series(dtype="Int64"),
            "model": pd.Series(dtype=object),
            LABEL: pd.Series(dtype=object),
            LABEL_TIME: pd.Series(dtype="datetime64[ms, UTC]"),
        }
    )
