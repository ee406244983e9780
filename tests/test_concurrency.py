"""Several processes log into one store at the same moment; every point arrives."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mloop.store import RunStatus
from mloop.tracking.client import Client

WORKERS = 4
BATCHES = 100
BATCH = 20
FLUENT_POINTS = 5_000

WORKER = textwrap.dedent(
    """
    import sys, time
    import mloop
    from mloop import MetricPoint
    from mloop.tracking.client import Client

    uri, blobs, shared_run, worker, start_at = sys.argv[1:6]
    client = Client(uri, blobs=blobs)
    while time.time() < float(start_at):   # all workers begin together
        time.sleep(0.001)
    # Many small explicit batches into one run that every worker shares ...
    for b in range(%(batches)d):
        points = [MetricPoint(f"w{worker}", float(b * %(batch)d + i), b * %(batch)d + i, 0)
                  for i in range(%(batch)d)]
        client.log_metrics(shared_run, points)
    # ... and a run of its own through the buffered fluent API.
    with mloop.start_run(experiment="concurrency", name=f"worker-{worker}", client=client,
                         capture_env=False) as run:
        mloop.log_params({"worker": worker})
        for i in range(%(fluent)d):
            mloop.log_metric("loss", float(i))
    print(run.id)
    """
) % {"batches": BATCHES, "batch": BATCH, "fluent": FLUENT_POINTS}


@pytest.mark.slow
def test_four_processes_lose_no_point(client: Client, store_uri: str, tmp_path: Path) -> None:
    shared = client.create_run("concurrency", name="shared", capture_env=False)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    start_at = str(time.time() + 3)
    blobs = str(tmp_path / "blobs")
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), store_uri, blobs, shared.id, str(w), start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err

    for w in range(WORKERS):
        history = client.get_metric_history(shared.id, f"w{w}")
        assert [p.value for p in history] == [float(i) for i in range(BATCHES * BATCH)]
    for out, _ in outputs:
        run = client.get_run(out.strip())
        assert run.status == RunStatus.FINISHED
        history = client.get_metric_history(run.id, "loss")
        assert [p.step for p in history] == list(range(FLUENT_POINTS))
    assert client.get_run(shared.id).metrics == {
        f"w{w}": float(BATCHES * BATCH - 1) for w in range(WORKERS)
    }


def test_writers_of_many_keys_to_one_run_do_not_deadlock(client: Client) -> None:
    """Two writers upsert the same 50 keys of one run in opposite orders."""
    import threading

    from mloop import MetricPoint

    run = client.create_run("deadlock", capture_env=False)
    keys = [f"k{i:02d}" for i in range(50)]
    errors: list[BaseException] = []

    def write(order: list[str], base: int) -> None:
        try:
            for round_ in range(20):
                points = [MetricPoint(k, float(round_), base + round_, 0) for k in order]
                client.log_metrics(run.id, points)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(keys, 0)),
        threading.Thread(target=write, args=(keys[::-1], 100)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(client.get_metric_history(run.id, "k00")) == 40


FAST_LOGGER = textwrap.dedent(
    """
    import sys, time
    import mloop
    from mloop.tracking.client import Client

    uri, blobs = sys.argv[1:3]
    client = Client(uri, blobs=blobs)
    with mloop.start_run(experiment="fast", client=client, capture_env=False) as run:
        print(run.id, flush=True)
        log_metric = mloop.log_metric
        while True:  # as fast as the fluent API goes, until killed
            now = time.time()
            for _ in range(1000):
                log_metric("logged_at", now)
    """
)


@contextmanager
def fast_logger(store_uri: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A process logging as fast as it can, and its run id; SIGKILLed at the end."""
    script = tmp_path / "fast_logger.py"
    script.write_text(FAST_LOGGER)
    with subprocess.Popen(
        [sys.executable, str(script), store_uri, str(tmp_path / "blobs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        try:
            assert run_id, proc.communicate()[1]
            yield proc, run_id
        finally:
            proc.kill()
            proc.communicate()


@pytest.mark.slow
def test_a_fast_logger_does_not_starve_other_writers(
    client: Client, store_uri: str, tmp_path: Path
) -> None:
    """Writers queue instead of failing: while one process logs points as fast as it can,
    every run another process creates is created within two seconds."""
    with fast_logger(store_uri, tmp_path) as (logger, _):
        time.sleep(3)  # long enough for the logger's backlog to build up
        for n in range(8):
            started = time.monotonic()
            client.create_run("other", name=f"r{n}", capture_env=False)
            took = time.monotonic() - started
            assert took < 2, f"create_run {n} took {took:.1f} s while a fast logger ran"
            time.sleep(0.3)
        assert logger.poll() is None, "the logger ended early"


@pytest.mark.slow
def test_a_sigkill_loses_about_the_last_second_of_points(
    client: Client, store_uri: str, tmp_path: Path
) -> None:
    """A producer faster than the store is slowed to the store's pace, so the points
    waiting in memory (lost when the process is killed) are about a second's worth."""
    with fast_logger(store_uri, tmp_path) as (logger, run_id):
        time.sleep(8)
        killed_at = time.time()
        logger.kill()
        logger.wait()
    stored = client.get_run(run_id).metrics["logged_at"]  # the newest point written
    assert killed_at - stored < 1.5, f"the last {killed_at - stored:.1f} s of points were lost"
