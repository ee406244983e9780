"""Several processes log into one store at the same moment; every point arrives."""

from __future__ import annotations

import subprocess
import sys
import textwrap
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
    import time

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
