"""A metric buffer flushed in the background, so a training loop never waits on the store.

``add`` only appends to a deque (thread-safe without a lock). A daemon thread
hands the points to the sink
in batches every ``interval`` seconds, or sooner when ``max_points`` pile up;
``flush`` and ``close`` drain it synchronously. A failure in the background is
kept and raised by the next ``add``, ``flush`` or ``close``: nothing fails silently.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence

from mloop.store.entities import MetricPoint

Sink = Callable[[Sequence[MetricPoint]], None]


class MetricBuffer:
    def __init__(self, sink: Sink, *, interval: float = 1.0, max_points: int = 20_000) -> None:
        self._sink = sink
        self._interval = interval
        self._max_points = max_points
        self._pending: deque[MetricPoint] = deque()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def add(self, point: MetricPoint) -> None:
        if self._error is not None:
            self._raise_error()
        self._pending.append(point)
        if self._thread is None:
            self._start()
        elif len(self._pending) >= self._max_points:
            self._wake.set()

    def flush(self) -> None:
        """Write everything added so far; raises what a background flush raised."""
        self._drain()
        if self._error is not None:
            self._raise_error()

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        self._closed = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self.flush()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mloop-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._drain()
            except BaseException as exc:  # kept and raised in the caller's thread
                self._error = exc
                return

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

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        assert error is not None
        raise error
