"""Prediction-log segments: scored batches as Parquet, written through a ledger.

A segment is one Parquet blob holding the rows one model version answered for one
deployment revision, indexed in the store by deployment, model version and time range.
Columns: ``request_id``, ``row`` (the row's position in its request), ``time`` (UTC),
``latency_ms``, ``input.<column>`` for each model input, ``output.prediction``,
``output.proba.<class>`` for a classifier, and for a shadow model ``shadow.model``,
``shadow.prediction``, ``shadow.proba.<class>`` and ``shadow.error``.

:class:`LogWriter` writes batches (and requests a model could not score) so that none is
logged twice, whatever fails in between (see :mod:`mloop.serving.ledger`).
"""

from __future__ import annotations

import io
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import NotFound
from mloop.serving.ledger import Intent, Ledger
from mloop.serving.records import Entry
from mloop.serving.served import Scores
from mloop.store import Failure, NewSegment
from mloop.tracking.client import Client

logger = logging.getLogger("mloop.serving")

Batch = list[tuple[int, Entry]]
"""Entries with their journal sequence numbers."""


class LogWriter:
    """Writes to ``client``'s prediction log, announcing each write in ``ledger``."""

    def __init__(self, client: Client, project: str, ledger: Ledger) -> None:
        self.client = client
        self.project = project
        self.ledger = ledger

    def confirm(self) -> set[int]:
        """Check the writes announced but not confirmed (the process died, or the store's
        answer was lost) against the store; the sequence numbers found to be logged."""
        logged: set[int] = set()
        for intent in self.ledger.unconfirmed():
            if self._stored(intent):
                self.ledger.confirm(intent.key)
                logged.update(intent.seqs)
            else:
                self.ledger.forget(intent.key)
        return logged

    def write(self, batch: Batch, done: Callable[[list[int]], None]) -> int:
        """Write ``batch`` as segments, one per model version and revision; ``done`` gets the
        sequence numbers of each segment once it is stored. Every group is tried; the
        first error is raised after. Returns the rows written."""
        groups: dict[tuple[str, str, str | None, int | None], Batch] = defaultdict(list)
        for seq, entry in batch:
            key = (entry.served.package, entry.served.label, entry.deployment, entry.revision)
            groups[key].append((seq, entry))
        written, error = 0, None
        for group in groups.values():
            try:
                self._segment(group)
            except Exception as exc:
                error = error or exc
                continue
            done([seq for seq, _ in group])
            written += sum(entry.rows for _, entry in group)
        if error is not None:
            raise error
        return written

    def write_failures(self, failures: list[tuple[int, Failure]]) -> None:
        """Record requests the model could not score. A deployment deleted meanwhile
        drops them (they can never be stored), with a warning."""
        if not failures:
            return
        times = [f.time for _, f in failures]
        intent = Intent(
            key=f"failures-{failures[0][0]}",
            seqs=tuple(seq for seq, _ in failures),
            deployment=failures[0][1].deployment,
            start=min(times),
            end=max(times),
            request_ids=tuple(f.request_id for _, f in failures),
        )
        self.ledger.intend(intent)
        try:
            self.client.store.predictions.add_failures([f for _, f in failures], self.project)
        except NotFound as exc:
            logger.warning("mloop: %d failed requests not recorded: %s", len(failures), exc)
        self.ledger.confirm(intent.key)

    def _segment(self, group: Batch) -> None:
        import pyarrow.parquet as pq

        entries = [entry for _, entry in group]
        table = segment_table(entries)
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        digest = self.client.blobs.put_bytes(buffer.getbuffer()).hex
        first = entries[0]
        times = [t for entry in entries for t in entry.times]
        self.ledger.intend(
            Intent(
                key=digest,
                seqs=tuple(seq for seq, _ in group),
                deployment=first.deployment,
                start=min(times),
                end=max(times),
            )
        )
        self.client.store.predictions.add_segment(
            NewSegment(
                digest=digest,
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
        self.ledger.confirm(digest)

    def _stored(self, intent: Intent) -> bool:
        predictions = self.client.store.predictions
        deployment, start, end = intent.deployment, intent.start, intent.end
        try:
            if intent.is_segment:
                found = predictions.segments(
                    deployment=deployment, start=start, end=end, project=self.project
                )
                return any(segment.digest == intent.key for segment in found)
            failed = predictions.failures(
                deployment=deployment, start=start, end=end, project=self.project
            )
        except NotFound:  # the deployment is gone: nothing of it is stored
            return False
        return set(intent.request_ids) <= {f.request_id for f in failed}


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
