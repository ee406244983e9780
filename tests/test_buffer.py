"""The metric buffer keeps every point through failures of the store behind it."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from mloop.errors import BackendUnavailable
from mloop.store import MetricPoint
from mloop.tracking.buffer import MetricBuffer


class FlakySink:
    """Fails its first ``failures`` calls, then stores what it is given."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.stored: list[MetricPoint] = []

    def __call__(self, batch: Sequence[MetricPoint]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise BackendUnavailable("database is locked")
        self.stored.extend(batch)


class SlowSink:
    """Stores ``rate`` points a second: a store slower than the training loop."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.stored: list[MetricPoint] = []

    def __call__(self, batch: Sequence[MetricPoint]) -> None:
        time.sleep(len(batch) / self.rate)
        self.stored.extend(batch)


def points(n: int, start: int = 0) -> list[MetricPoint]:
    return [MetricPoint("loss", float(i), i, 0) for i in range(start, start + n)]


def wait_for(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_a_transient_failure_loses_nothing_and_flushing_resumes() -> None:
    sink = FlakySink(failures=1)
    buffer = MetricBuffer(sink, interval=0.02)
    for p in points(5):
        buffer.add(p)
    wait_for(lambda: len(sink.stored) == 5)
    for p in points(5, start=5):
        buffer.add(p)
    wait_for(lambda: len(sink.stored) == 10)
    buffer.close()
    assert [p.step for p in sink.stored] == list(range(10))


def test_a_lasting_failure_is_raised_by_flush_and_the_points_are_kept() -> None:
    sink = FlakySink(failures=10**9)
    buffer = MetricBuffer(sink, interval=60)
    for p in points(3):
        buffer.add(p)
    with pytest.raises(BackendUnavailable, match="locked"):
        buffer.flush()
    assert buffer.pending == 3
    sink.failures = 0
    buffer.close()
    assert [p.step for p in sink.stored] == [0, 1, 2]


def test_add_raises_when_too_much_waits_but_keeps_the_point() -> None:
    sink = FlakySink(failures=10**9)
    buffer = MetricBuffer(sink, interval=0.01, max_points=10, max_pending=50)
    for p in points(10):
        buffer.add(p)
    wait_for(lambda: buffer._error is not None)
    with pytest.raises(BackendUnavailable, match="waiting to be written"):
        for p in points(100, start=10):
            buffer.add(p)
    kept = buffer.pending
    assert kept > 50
    sink.failures = 0
    buffer.close()
    assert [p.step for p in sink.stored] == list(range(kept))


def test_a_failing_store_is_not_hammered_by_a_fast_loop() -> None:
    sink = FlakySink(failures=10**9)
    calls = []
    original = sink.__call__

    def counting(batch: Sequence[MetricPoint]) -> None:
        calls.append(len(batch))
        original(batch)

    buffer = MetricBuffer(counting, interval=0.05, max_points=100)
    deadline = time.monotonic() + 1.0
    step = 0
    while time.monotonic() < deadline:
        buffer.add(MetricPoint("loss", 0.0, step, 0))
        step += 1
    assert len(calls) <= 6  # 0.05 s, then backing off: 0.1, 0.2, 0.4 ...
    sink.failures = 0
    buffer.close()
    assert len(sink.stored) == step


def test_a_producer_faster_than_the_store_waits_for_it() -> None:
    """What waits in memory (lost to a SIGKILL) stays about a second of the store's work."""
    sink = SlowSink(rate=20_000)
    buffer = MetricBuffer(sink, max_points=2_000, batch=1_000)
    most = 0
    for p in points(40_000):
        buffer.add(p)
        most = max(most, buffer.pending)
    buffer.close()
    assert most < 20_000 * 1.3, f"{most} points waited for a store that writes 20,000 a second"
    assert [p.step for p in sink.stored] == list(range(40_000))
