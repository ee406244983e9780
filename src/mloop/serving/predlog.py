"""The prediction log: every scored row, kept in memory and flushed to Parquet segments.

A segment is one Parquet blob holding the rows one model version answered for one
deployment revision, indexed in the store by deployment, model version and time
range. Flushes happen every ``flush_rows`` rows, every ``flush_seconds`` seconds,
and on close (a server's graceful shutdown), on a background thread, so scoring
never waits for storage. A flush that fails (the store is unreachable) keeps its
rows in memory and is retried at the next one.

Columns of a segment: ``request_id``, ``row`` (the row's position in its request),
``time`` (UTC), ``latency_ms``, ``input.<column>`` for each model input,
``output.prediction``, ``output.proba.<class>`` for a classifier, and for a shadow
model ``shadow.model``, ``shadow.prediction``, ``shadow.proba.<class>`` and
``shadow.error``.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import MloopError, NotFound
from mloop.serving.served import Scores, ServedModel
from mloop.store import Failure, NewSegment
from mloop.tracking.client import Client
from mloop.workspace import cache_root

logger = logging.getLogger("mloop.serving")
MAX_FAILURES = 10_000
"""Failed requests kept in memory while the store cannot take them."""


@dataclass(slots=True)
class Shadowed:
    """What the shadow model said about a batch (or why it could not)."""

    served: ServedModel
    scores: Scores | None
    error: str | None = None


@dataclass(slots=True, eq=False)
class Entry:
    """One scored batch: the requests in it, their inputs and the model's outputs."""

    served: ServedModel
    deployment: str | None
    revision: int | None
    request_ids: list[str]
    counts: list[int]
    times: list[int]
    """Each request's arrival, ms since the epoch."""
    latencies: list[float]
    """Each request's time to its answer, ms."""
    inputs: pd.DataFrame
    scores: Scores
    shadow: Shadowed | None = None

    @property
    def rows(self) -> int:
        return len(self.inputs)


@dataclass
class PredictionLog:
    """Buffers entries and writes them as segments to ``client``'s blob and metadata stores."""

    client: Client
    flush_rows: int = 10_000
    flush_seconds: float = 10.0
    project: str = "default"
    _entries: list[Entry] = field(default_factory=list)
    _failures: list[Failure] = field(default_factory=list)
    _rows: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _flushing: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def append(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)
            self._rows += entry.rows
            full = self._rows >= self.flush_rows
        if full:
            self._wake.set()

    def fail(self, failure: Failure) -> None:
        """Keep a request the model could not score; written with the next flush. While
        the store is away, only the newest ``MAX_FAILURES`` are kept."""
        with self._lock:
            self._failures.append(failure)
            if len(self._failures) > MAX_FAILURES:
                del self._failures[: len(self._failures) - MAX_FAILURES]
                logger.warning("mloop: the store is away; older failed requests were dropped")

    @property
    def buffered(self) -> int:
        return self._rows

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="mloop-prediction-log", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the background flusher and write everything still buffered; what cannot
        be written (the stores are unreachable) is kept as Parquet files in the local
        cache, named in the log, so no answered prediction is lost."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            self.flush()
        except Exception as exc:
            with self._lock:
                left, self._entries, self._rows = self._entries, [], 0
            where = self._spill(left)
            logger.error(
                "mloop: %d logged predictions could not be stored (%s); kept in %s",
                sum(e.rows for e in left),
                exc,
                where,
            )

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.flush()
            except Exception as exc:  # kept in memory; retried at the next flush
                logger.warning("mloop: the prediction log could not be flushed: %s", exc)

    def flush(self) -> int:
        """Write the buffered rows as segments, each group on its own; returns the rows
        written. Groups that failed go back to the buffer and the first error is raised."""
        with self._flushing:
            with self._lock:
                entries, self._entries, self._rows = self._entries, [], 0
            groups: dict[tuple[str, str, str | None, int | None], list[Entry]] = defaultdict(list)
            for entry in entries:
                key = (entry.served.package, entry.served.label, entry.deployment, entry.revision)
                groups[key].append(entry)
            done, failed, error = 0, [], None
            for group in groups.values():
                try:
                    self._write(group)
                    done += sum(entry.rows for entry in group)
                except Exception as exc:
                    error = error or exc
                    failed.extend(group)
            if failed:
                with self._lock:  # back ahead of newer rows, for the next flush
                    self._entries[:0] = failed
                    self._rows += sum(entry.rows for entry in failed)
            error = error or self._write_failures()
            if error is not None:
                raise error
            return done

    def _write_failures(self) -> Exception | None:
        with self._lock:
            failures, self._failures = self._failures, []
        try:
            self.client.store.predictions.add_failures(failures, self.project)
        except NotFound as exc:  # the deployment was deleted: they can never be stored
            logger.warning("mloop: %d failed requests not recorded: %s", len(failures), exc)
        except Exception as exc:
            with self._lock:
                self._failures[:0] = failures
            return exc
        return None

    def _spill(self, entries: Sequence[Entry]) -> Path:
        import pyarrow.parquet as pq

        try:
            workspace = self.client.settings.workspace
        except MloopError:
            workspace = None
        folder = cache_root(workspace) / "unstored-predictions"
        folder.mkdir(parents=True, exist_ok=True)
        groups: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            groups[entry.served.label].append(entry)
        for group in groups.values():
            pq.write_table(segment_table(group), folder / f"{uuid.uuid4().hex}.parquet")
        return folder

    def _write(self, group: Sequence[Entry]) -> None:
        import pyarrow.parquet as pq

        table = segment_table(group)
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        digest = self.client.blobs.put_bytes(buffer.getbuffer())
        first = group[0]
        times = [t for entry in group for t in entry.times]
        self.client.store.predictions.add_segment(
            NewSegment(
                digest=digest.hex,
                rows=table.num_rows,
                start=min(times),
                end=max(times),
                package=first.served.package,
                model=first.served.label,
                deployment=first.deployment,
                revision=first.revision,
                version_id=first.served.version_id,
            ),
            self.project,
        )


def segment_table(group: Sequence[Entry]) -> Any:
    """The Arrow table of a group of entries of one model (see the module's columns)."""
    import pyarrow as pa

    ids: list[str] = []
    rows: list[int] = []
    times: list[int] = []
    latencies: list[float] = []
    for entry in group:
        for rid, count, t, latency in zip(
            entry.request_ids, entry.counts, entry.times, entry.latencies, strict=True
        ):
            ids.extend([rid] * count)
            rows.extend(range(count))
            times.extend([t] * count)
            latencies.extend([latency] * count)
    columns: dict[str, Any] = {
        "request_id": pa.array(ids, pa.string()),
        "row": pa.array(rows, pa.int32()),
        "time": pa.array(times, pa.timestamp("ms", tz="UTC")),
        "latency_ms": pa.array(latencies, pa.float64()),
    }
    for name, values in _inputs(group).items():
        columns[f"input.{name}"] = _arrow(values)
    _outputs(columns, "output", [entry.scores for entry in group], group[0].served.classes)
    if any(entry.shadow is not None for entry in group):
        _shadow(columns, group)
    return pa.table(columns)


def _inputs(group: Sequence[Entry]) -> dict[str, Any]:
    """Each input column over the group. A server's batches of float inputs are single
    NumPy blocks: they are stacked in one step (concatenating thousands of one-row
    DataFrames took seconds of the scoring threads' time at every flush)."""
    first = group[0].inputs.columns
    blocks = [entry.inputs.to_numpy() for entry in group if entry.inputs.columns.equals(first)]
    if len(blocks) == len(group) and all(block.dtype.kind == "f" for block in blocks):
        stacked = np.vstack(blocks)
        return {str(name): stacked[:, j] for j, name in enumerate(first)}
    frame = pd.concat([entry.inputs for entry in group], ignore_index=True)
    return {str(name): frame[name] for name in frame.columns}


def _outputs(
    columns: dict[str, Any], prefix: str, scores: Sequence[Scores], classes: list[Any] | None
) -> None:
    import pyarrow as pa

    columns[f"{prefix}.prediction"] = _arrow(np.concatenate([s.predictions for s in scores]))
    if classes is not None and all(s.proba is not None for s in scores):
        proba = np.vstack([s.proba for s in scores if s.proba is not None])
        for j, label in enumerate(classes):
            columns[f"{prefix}.proba.{label}"] = pa.array(proba[:, j])


def _shadow(columns: dict[str, Any], group: Sequence[Entry]) -> None:
    """Shadow columns; rows without a usable shadow answer hold nulls and the reason."""
    import pyarrow as pa

    labels: list[str | None] = []
    errors: list[str | None] = []
    predictions: list[Any] = []
    probas: list[np.ndarray | None] = []
    classes: list[Any] | None = None
    for entry in group:
        shadow, n = entry.shadow, entry.rows
        labels.extend([None if shadow is None else shadow.served.label] * n)
        ok = shadow is not None and shadow.scores is not None
        errors.extend([None if ok or shadow is None else shadow.error] * n)
        if ok:
            assert shadow is not None and shadow.scores is not None
            predictions.extend(shadow.scores.predictions.tolist())
            probas.append(shadow.scores.proba)
            classes = classes or shadow.served.classes
        else:
            predictions.extend([None] * n)
            probas.append(None)
    columns["shadow.model"] = pa.array(labels, pa.string())
    columns["shadow.prediction"] = _arrow(pd.Series(predictions, dtype=object))
    columns["shadow.error"] = pa.array(errors, pa.string())
    if classes is not None:
        width = len(classes)
        filled = [
            np.full((entry.rows, width), np.nan) if p is None or p.shape[1] != width else p
            for entry, p in zip(group, probas, strict=True)
        ]
        proba = np.vstack(filled)
        for j, label in enumerate(classes):
            columns[f"shadow.proba.{label}"] = pa.array(proba[:, j])


def _arrow(values: Any) -> Any:
    """An Arrow array of ``values``; several answers per row become lists, and values of
    mixed types (a model without a signature) are kept as JSON text."""
    import pyarrow as pa

    if isinstance(values, np.ndarray) and values.ndim > 1:
        return pa.array(values.tolist())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return pa.array(
            [None if _missing(v) else json.dumps(_plain(v), default=str) for v in values],
            pa.string(),
        )


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value
