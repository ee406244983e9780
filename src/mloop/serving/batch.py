"""Batch scoring: a CSV or Parquet file through a model, chunk by chunk.

Memory stays flat whatever the input's size: ``chunk_rows`` rows are read, scored
and written at a time. The output keeps the input's columns and adds
``prediction`` and, for a classifier, ``proba.<class>`` per class. With
``log=True`` every chunk is also appended to the prediction log (request id
``batch-<id>-<chunk>``), so monitoring sees batch traffic like served traffic.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mloop.errors import InvalidArgument, NotFound
from mloop.serving.predlog import Entry, PredictionLog
from mloop.serving.served import ServedModel
from mloop.serving.source import load_model
from mloop.store.entities import now_ms
from mloop.tracking.client import Client

FORMATS = (".csv", ".parquet", ".pq")
Progress = Callable[[int, int | None], None]
"""Called with (rows done, rows in all, when known)."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    rows: int
    chunks: int
    output: Path
    model: str
    logged: bool


def score_file(
    model_uri: str,
    source: str | Path,
    output: str | Path,
    *,
    client: Client,
    chunk_rows: int = 100_000,
    log: bool = False,
    progress: Progress = lambda done, total: None,
) -> BatchResult:
    """Score ``source`` (CSV or Parquet) with ``model_uri`` into ``output`` (CSV or Parquet)."""
    source, output = Path(source), Path(output)
    _check_paths(source, output, chunk_rows)
    served = load_model(client, model_uri)
    total = _count_rows(source)
    sink = _Sink(output)
    plog = PredictionLog(client) if log else None
    job = uuid.uuid4().hex[:16]
    done = chunks = 0
    try:
        for chunks, chunk in enumerate(_chunks(source, chunk_rows), start=1):
            scores = served.score(chunk)
            sink.write(_with_outputs(chunk, scores.predictions, scores.proba, served.classes))
            if plog is not None:  # a segment per chunk: memory stays flat
                plog.append(_entry(served, f"batch-{job}-{chunks}", chunk, scores))
                plog.flush()
            done += len(chunk)
            progress(done, total)
    except BaseException:
        sink.abort()
        raise
    sink.close()
    return BatchResult(done, chunks, output, served.label, log)


def _entry(served: ServedModel, request_id: str, chunk: pd.DataFrame, scores: Any) -> Entry:
    return Entry(
        served,
        None,
        None,
        [request_id],
        [len(chunk)],
        [now_ms()],
        [0.0],
        chunk.reset_index(drop=True),
        scores,
    )


def _check_paths(source: Path, output: Path, chunk_rows: int) -> None:
    if not source.is_file():
        raise NotFound(f"no input file {source}")
    for path in (source, output):
        if path.suffix.lower() not in FORMATS:
            raise InvalidArgument(f"{path}: use a .csv or .parquet file")
    if output.resolve() == source.resolve():
        raise InvalidArgument("the output would overwrite the input: name another file")
    if chunk_rows < 1:
        raise InvalidArgument("--chunk-rows must be at least 1")


def _count_rows(source: Path) -> int | None:
    if source.suffix.lower() == ".csv":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(source).metadata.num_rows)


def _chunks(source: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if source.suffix.lower() == ".csv":
        yield from pd.read_csv(source, chunksize=chunk_rows)
        return
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(source).iter_batches(batch_size=chunk_rows):
        yield batch.to_pandas()


def _with_outputs(chunk: pd.DataFrame, predictions: Any, proba: Any, classes: Any) -> pd.DataFrame:
    out = chunk.copy()
    out["prediction"] = predictions
    if proba is not None and classes is not None:
        for j, label in enumerate(classes):
            out[f"proba.{label}"] = proba[:, j]
    return out


class _Sink:
    """Writes chunks to a temporary file renamed into place at the end (no half outputs)."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.partial = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.partial")
        self.csv = output.suffix.lower() == ".csv"
        self.writer: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.csv:
            frame.to_csv(self.partial, mode="a", header=self.writer is None, index=False)
            self.writer = True
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.partial, table.schema)
        try:
            table = table.cast(self.writer.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
            raise InvalidArgument(
                f"a column changed type from one chunk to the next ({exc}): write a .csv "
                "output, or give a larger --chunk-rows"
            ) from None
        self.writer.write_table(table)

    def close(self) -> None:
        if not self.csv and self.writer is not None:
            self.writer.close()
        if self.writer is None:
            raise InvalidArgument("the input has no rows: nothing was written")
        self.partial.replace(self.output)

    def abort(self) -> None:
        if not self.csv and self.writer is not None:
            self.writer.close()
        self.partial.unlink(missing_ok=True)
