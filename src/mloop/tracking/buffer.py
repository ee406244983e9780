"""A metric buffer flushed in the background, so a training loop never waits on the store.

``add`` only appends to a deque (thread-safe without a lock). A daemon thread
hands the points to the sink in batches of at most ``batch`` every ``interval``
seconds, or at once when ``max_points`` pile up; ``flush`` and ``close`` drain it
synchronously.

**Backpressure.** Points waiting in memory are lost if the process is killed
(SIGKILL, the OOM killer), so the thread times the sink, and the points waiting
plus the batch being written are kept to about ``backlog`` seconds of its work:
a producer faster than the store waits in ``add`` until the thread has written
enough. (For a slow sink the batches shrink, and the thread writes before
``max_points`` are waiting.)

A failing sink (database locked, server down) never loses points: they stay
buffered and the thread retries with a growing pause; ``add`` does not wait for
it meanwhile. The caller hears of it when it lasts: ``flush`` and ``close`` raise
the sink's error, and ``add`` raises once more than ``max_pending`` points are
waiting. Points are checked before they are added (see ``ActiveRun.log_metric``),
so a sink error is a backend problem, not a bad point.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from mloop.errors import BackendUnavailable
from mloop.store import POINTS_PER_WRITE
from mloop.store.entities import MetricPoint

Sink = Callable[[Sequence[MetricPoint]], None]
_MAX_PAUSE = 30.0
_FIRST_BATCH = 1_000


class MetricBuffer:
    def __init__(
        self,
        sink: Sink,
        *,
        interval: float = 1.0,
        max_points: int = 20_000,
        max_pending: int = 2_000_000,
        batch: int = POINTS_PER_WRITE,
        backlog: float = 0.5,
    ) -> None:
        self._sink = sink
        self._interval = interval
        self._max_pending = max_pending
        self._pace = _Pace(batch, backlog, crowd=max_points)
        self._pending: deque[MetricPoint] = deque()
        self._flush_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._written = threading.Condition()  # notified after each batch the thread writes
        self._closed = False
        self._error: Exception | None = None  # the last background failure, while it lasts
        self._thread: threading.Thread | None = None

    def add(self, point: MetricPoint) -> None:
        pending = self._pending
        pending.append(point)
        if self._thread is None:
            self._start()
        elif len(pending) >= self._pace.crowded:
            self._crowded(len(pending))

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

    def _crowded(self, count: int) -> None:
        error = self._error
        if error is not None:  # while the store fails, the thread keeps its own pace
            if count > self._max_pending:
                raise BackendUnavailable(
                    f"{count:,} metric points are waiting to be written because the "
                    f"store keeps failing: {error}"
                ) from error
            return
        if not self._wake.is_set():
            self._wake.set()
        if count > self._pace.limit:
            self._wait_for_room()

    def _wait_for_room(self) -> None:
        """Backpressure: wait while more points wait than the sink writes in ``backlog``
        seconds, unless the sink fails or the buffer is closing."""
        thread = self._thread
        with self._written:
            while (
                len(self._pending) > self._pace.limit
                and self._error is None
                and not self._closed
                and thread is not None
                and thread.is_alive()
            ):
                self._written.wait(0.5)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="mloop-metrics", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        pause = self._interval
        while not self._closed:
            if self._error is not None or len(self._pending) < self._pace.crowded:
                self._wake.wait(pause)  # else: more are waiting already, write on at once
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
            finally:
                with self._written:
                    self._written.notify_all()

    def _drain(self) -> None:
        """Write the points waiting now, one batch per sink call."""
        with self._flush_lock:
            pending = self._pending
            left = len(pending)
            while left:
                size = min(left, self._pace.batch)
                batch = [pending.popleft() for _ in range(size)]
                started = time.monotonic()
                try:
                    self._sink(batch)
                except BaseException:
                    pending.extendleft(reversed(batch))  # kept for the next attempt
                    raise
                self._pace.measured(size, time.monotonic() - started)
                left -= size
                with self._written:
                    self._written.notify_all()


class _Pace:
    """The sink's measured throughput, and what it allows: the points waiting plus the
    batch being written are about ``backlog`` seconds of the sink's work."""

    def __init__(self, most: int, backlog: float, *, crowd: int) -> None:
        self._most = most
        self._backlog = backlog
        self._crowd = crowd
        self._rate = 0.0  # points per second; 0 until a whole batch was timed
        self.batch = min(most, _FIRST_BATCH)
        """How many points one sink call takes: small until the sink was timed."""
        self.limit = crowd
        """How many points may wait before ``add`` waits for the sink."""
        self.crowded = crowd
        """How many waiting points make the thread write at once."""

    def measured(self, points: int, seconds: float) -> None:
        if points < self.batch:  # a partial batch's time is mostly fixed costs
            return
        rate = points / max(seconds, 1e-6)
        if not self._rate or rate < self._rate:  # a slower store is believed at once,
            self._rate = rate
        else:  # a faster one gradually
            self._rate = (3 * self._rate + rate) / 4
        work = self._rate * self._backlog
        self.batch = int(min(self._most, max(_FIRST_BATCH, work / 4)))
        self.limit = int(max(self.batch, work - self.batch))
        self.crowded = min(self._crowd, self.limit)
