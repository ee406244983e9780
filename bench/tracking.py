"""Tracking throughput and search latency on the embedded SQLite store.

Prints one JSON line:
- fluent_calls_per_s: ``mloop.log_metric`` called once per point (100,000 points),
  measured over the calls; ``fluent_with_flush_per_s`` also counts writing them all;
- batched_points_per_s: ``Client.log_metrics`` with batches of 10,000 points;
  (the logging figures are the best of ``--repeats`` runs: disk writes on a shared
  machine vary a lot from one run to the next)
- search_ms: median ``search_runs`` latency, a filter with AND and OR over
  10,000 runs that have 10 params and 5 metrics each.

    python bench/tracking.py [--runs 10000] [--points 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import mloop
from mloop import MetricPoint
from mloop.store import upgrade_store
from mloop.tracking.client import Client

SEARCH = (
    "params.p0 = 'v3' AND (metrics.m0 > 0.5 OR metrics.m1 < 0.1) AND attributes.status = 'FINISHED'"
)


def fluent(client: Client, points: int) -> tuple[float, float]:
    with mloop.start_run(name="fluent", client=client, capture_env=False):
        log_metric = mloop.log_metric
        started = time.perf_counter()
        for i in range(points):
            log_metric("loss", 1.0 / (i + 1))
        calls = time.perf_counter() - started
    total = time.perf_counter() - started
    return points / calls, points / total


def batched(client: Client, points: int, batch: int = 10_000) -> float:
    run = client.create_run(name="batched", capture_env=False)
    now = int(time.time() * 1000)
    batches = [
        [MetricPoint("loss", random.random(), start + i, now) for i in range(batch)]
        for start in range(0, points, batch)
    ]
    started = time.perf_counter()
    for chunk in batches:
        client.log_metrics(run.id, chunk)
    return points / (time.perf_counter() - started)


def populate(client: Client, runs: int) -> None:
    rng = random.Random(0)
    store = client.store
    exp = client.experiment("search")
    for n in range(runs):
        run = store.runs.create(exp.id, name=f"r{n}", user="bench", start_time=n)
        store.runs.log_params(run.id, {f"p{k}": f"v{rng.randrange(10)}" for k in range(10)})
        store.runs.log_metrics(run.id, [MetricPoint(f"m{k}", rng.random(), 0, n) for k in range(5)])
        store.runs.set_status(run.id, mloop.RunStatus.FINISHED, n + 1)


def search(client: Client, repeats: int = 20) -> tuple[float, int]:
    timings = []
    found = 0
    for _ in range(repeats):
        started = time.perf_counter()
        found = len(client.search_runs(SEARCH, experiments=["search"], max_results=1000).items)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        uri = f"sqlite:///{Path(folder) / 'mloop.db'}"
        upgrade_store(uri)
        with Client(uri, blobs=str(Path(folder) / "blobs")) as client:
            fluent_runs = [fluent(client, args.points) for _ in range(args.repeats)]
            calls = max(calls for calls, _ in fluent_runs)
            with_flush = max(total for _, total in fluent_runs)
            batch_rate = max(batched(client, args.points) for _ in range(args.repeats))
            populate(client, args.runs)
            search_ms, found = search(client)
    print(
        json.dumps(
            {
                "bench": "tracking",
                "backend": "sqlite",
                "fluent_calls_per_s": round(calls),
                "fluent_with_flush_per_s": round(with_flush),
                "batched_points_per_s": round(batch_rate),
                "repeats": args.repeats,
                "search_runs": args.runs,
                "search_ms": round(search_ms, 2),
                "search_matched": found,
                "search_filter": SEARCH,
            }
        )
    )


if __name__ == "__main__":
    main()
