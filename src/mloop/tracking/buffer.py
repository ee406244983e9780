"""A metric buffer flushed in the background, so a training loop never waits on the store.

``add`` only appends to a deque (thread-safe without a lock). A daemon thread
hands the points to the sink in batches every ``interval`` seconds, or sooner
when ``max_points`` pile up; ``flush`` and ``close`` drain it synchronously.

A failing sink (database locked, server down) never loses points: they stay
buffered and the thread retries with a growing pause. The caller hears of it
when it lasts: ``flush`` and ``close`` raise the sink's error, and ``add``
raises once more than ``max_pending`` points are waiting. Points are checked
before they are added (see ``ActiveRun.log_metric``), so a sink error is a
backend problem, not a bad point.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence

from mloop.errors import BackendUnavailable
from mloop.store.entities import MetricPoint

Sink = Callable[[Sequence[MetricPoint]], None]
_MAX_PAUSE = 30.0


class MetricBuffer:
    def __init__(
        self,
        sink: Sink,
        *,
        interval: float = 1.0,
        max_points: int = 20_000,
        max_pending: int = 2_000_000,
    ) -> None:
        self._sink = sink
        self._interval = interval
        self._max_points = max_points
        self._max_pending = max_pending
        self._pending: deque[MetricPoint] = deque()
        self._flush_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._error: Exception | None = None  # the last background failure, while it lasts
        self._thread: threading.Thread | None = None

    def add(self, point: MetricPoint) -> None:
        pending = self._pending
        pending.append(point)
        if self._thread is None:
            self._start()
        elif len(pending) >= self._max_points:
            error = self._error
            if error is None:
                self._wake.set()  # while the store fails, the thread keeps its own pace
            elif len(pending) > self._max_pending:
                raise BackendUnavailable(
                    f"{len(pending):,} metric points are waiting to be written because the "
                    f"store keeps failing: {error}"
                ) from error

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> None:
        """Write everything added so far; raises the sink's error (the points stay buffered)."""
        self._drain()

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        self._closed = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._drain()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="mloop-metrics", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        pause = self._interval
        while not self._closed:
            self._wake.wait(pause)
            self._wake.clear()
            if self._closed:  # the last write happens in close(), in the caller's thread
                return
            try:
                self._drain()
            except Exception as exc:  # kept; retried after a longer pause
                self._error = exc
                pause = min(pause * 2, _MAX_PAUSE)
            else:
                self._error = None
                pause = self._interval

    def _drain(self) -> None:
        with self._flush_lock:
            pending = self._pending
            batch = [pending.popleft() for _ in range(len(pending))]
            if batch:
                try:
                    self._sink(batch)
                except BaseException:
                    pending.extendleft(reversed(batch))  # kept for the next attempt
                    raise
