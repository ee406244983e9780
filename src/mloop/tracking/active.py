"""``ActiveRun``: a run being recorded, with its metric buffer.

Used as a context manager: leaving normally marks the run FINISHED, an
exception marks it FAILED and re-raises, Ctrl-C (KeyboardInterrupt) marks it
KILLED. Metrics are buffered and written in the background; everything else is
written at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from mloop.errors import InvalidArgument
from mloop.store import validate
from mloop.store.entities import ArtifactEntry, MetricPoint, Run, RunStatus, now_ms
from mloop.tracking.buffer import MetricBuffer
from mloop.tracking.client import Client, integer, metric_value
from mloop.tracking.signals import Terminated

_LOW, _HIGH = validate.INT64


class ActiveRun:
    def __init__(
        self, client: Client, run: Run, on_end: Callable[[ActiveRun], None] | None = None
    ) -> None:
        self.client = client
        self.run = run
        self.id = run.id
        self._steps: dict[str, int] = {}
        self._buffer = MetricBuffer(lambda points: client.log_metrics(run.id, points))
        self._on_end = on_end
        self._ended = False

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Buffer one point; without ``step`` each key counts 0, 1, 2, ... on its own."""
        if self._ended:
            self._require_open()
        if type(value) is not float:
            value = metric_value(key, value)
        if step is not None and (type(step) is not int or not _LOW <= step <= _HIGH):
            step = integer(key, "step", step)
        if timestamp is not None and (type(timestamp) is not int or not _LOW <= timestamp <= _HIGH):
            timestamp = integer(key, "timestamp", timestamp)
        steps = self._steps
        if step is None:
            last = steps.get(key)
            if last is None:
                validate.key("metric", key)
                last = -1
            step = last + 1
        elif key not in steps:
            validate.key("metric", key)
        steps[key] = step
        if timestamp is None:
            timestamp = now_ms()
        self._buffer.add(MetricPoint(key, value, step, timestamp))

    def log_metrics(
        self, metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
    ) -> None:
        for key, value in metrics.items():
            self.log_metric(key, value, step, timestamp)

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._require_open()
        self.client.log_params(self.id, params)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._require_open()
        self.client.set_tags(self.id, tags)

    def log_artifact(
        self, local_path: str | Path, artifact_path: str | None = None
    ) -> ArtifactEntry:
        self._require_open()
        return self.client.log_artifact(self.id, local_path, artifact_path)

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> ArtifactEntry:
        self._require_open()
        return self.client.log_dict(self.id, data, artifact_path)

    def flush(self) -> None:
        """Write buffered metrics now."""
        self._buffer.flush()

    def detach(self) -> None:
        """Write buffered metrics and stop logging through this object, leaving the run
        open (whoever owns it ends it)."""
        if not self._ended:
            self._ended = True
            self._buffer.close()

    def end(self, status: RunStatus = RunStatus.FINISHED) -> None:
        """Write buffered metrics and mark the run ended (only the first call counts).

        If the buffered metrics cannot be written the run is marked FAILED and the
        error raised: a FINISHED run never hides lost points.
        """
        if self._ended:
            return
        self._ended = True
        problem: BaseException | None = None
        try:
            self._buffer.close()
        except BaseException as exc:  # the store failed, or Ctrl-C / SIGTERM while writing
            problem, status = exc, status_for(type(exc), exc)
            if not isinstance(exc, Exception):
                self._write_rest()
        try:
            self.client.end_run(self.id, status)
        finally:
            if self._on_end is not None:
                self._on_end(self)
        if problem is not None:
            raise problem

    def _write_rest(self) -> None:
        """After an interrupt, one more try to write what is buffered; another interrupt wins."""
        try:
            self._buffer.close()
        except Exception as exc:
            message = f"mloop: run {self.id}: buffered metrics were not written: {exc}"
            print(message, file=sys.stderr)

    def _require_open(self) -> None:
        if self._ended:
            raise InvalidArgument(f"run {self.id} has ended: start a new run to log more")

    @property
    def ended(self) -> bool:
        return self._ended

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.end(status_for(kind, exc))


def status_for(kind: type[BaseException] | None, exc: BaseException | None = None) -> RunStatus:
    """FINISHED, or KILLED for Ctrl-C and SIGTERM, or FAILED; ``sys.exit(0)`` is finished."""
    if kind is None:
        return RunStatus.FINISHED
    if issubclass(kind, KeyboardInterrupt | Terminated):
        return RunStatus.KILLED
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        return RunStatus.FINISHED
    return RunStatus.FAILED
