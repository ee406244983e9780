"""Benchmark: the scoring server under single-row requests, with prediction logging on
(journaled, the default), on without the journal (``--no-journal``) and off, each
``--repeat`` times (alternating, medians reported: this machine's speed drifts by a third
from minute to minute).

A scikit-learn GradientBoostingClassifier (default settings) is trained on the
breast-cancer data, logged, registered and served with ``mloop serve`` (one process,
uvicorn with uvloop and httptools) in a temporary workspace. A closed-loop client
(``bench/httpload.py``, keep-alive connections, each sending its next request when the
previous answer arrived) drives ``POST /predict`` with one row for ``--seconds`` at
concurrency 1 and 8. Prints one JSON line:

- raw_predict_ms: the model's own ``predict`` of one row (a NumPy array), for scale;
- log_on / journal_off / log_off: for c1 and c8, requests/s, p50 and p99 latency in ms,
  errors;
- logging_cost: 1 - (c8 requests/s with logging) / (c8 requests/s without);
- journal_cost: 1 - (c8 requests/s with the journal) / (c8 requests/s without), and
  journal_c1_p50: (c1 p50 with the journal) / (c1 p50 without);
- targets: at least 1,000 requests/s at c=8 with logging on, p50 at most 1.5 ms at c=1;
  the journal costs at most 10% of the c=8 throughput and of the c=1 p50.

Reference figures on the same 2-core machine and model: ``mlflow models serve``
(MLflow 3.17) about 130 req/s at c=1 (p50 7.5 ms) and 96 req/s at c=8; BentoML 1.4
about 440 req/s at c=1 (p50 2.1 ms) and 410 at c=8.

    python bench/serving.py [--seconds 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from httpload import run_load


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare(folder: Path) -> tuple[bytes, float]:
    """A registered model in a new workspace; the one-row body and the raw predict time."""
    import warnings

    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier

    import mloop

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = GradientBoostingClassifier(random_state=0).fit(X, y)
    with mloop.start_run(experiment="bench-serving", capture_env=False):
        info = mloop.models.log(model, input_example=X.head(5))
    version = mloop.registry.register(info.uri, "bench")
    mloop.registry.promote(f"bench/{version.version}")
    row = X.head(1).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitted with column names, given an array
        times = []
        for _ in range(500):
            start = time.perf_counter()
            model.predict(row)
            times.append(time.perf_counter() - start)
    body = orjson.dumps(X.head(1).to_dict(orient="records"))
    return body, sorted(times)[len(times) // 2] * 1000


SETTINGS = {"log_on": [], "journal_off": ["--no-journal"], "log_off": ["--no-log"]}


def _measure(folder: Path, body: bytes, seconds: float, extra: list[str]) -> dict[str, object]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "mloop",
        "serve",
        "models:/bench@champion",
        "--port",
        str(port),
        *extra,
    ]
    server = subprocess.Popen(
        command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_ready(port)
        run_load("127.0.0.1", port, "/predict", body, concurrency=8, seconds=1.0)  # warm up
        return {
            "c1": run_load("127.0.0.1", port, "/predict", body, concurrency=1, seconds=seconds),
            "c8": run_load("127.0.0.1", port, "/predict", body, concurrency=8, seconds=seconds),
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not get ready within 60 s")


def _median(runs: list[dict[str, object]]) -> dict[str, object]:
    """Per concurrency, the median of each figure over the runs."""
    out: dict[str, object] = {}
    for level in ("c1", "c8"):
        found = [run[level] for run in runs]
        out[level] = {
            key: statistics.median(float(f[key]) for f in found)  # type: ignore[index]
            for key in found[0]  # type: ignore[union-attr]
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="servers started per setting")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mloop-bench-serving-") as tmp:
        folder = Path(tmp)
        os.chdir(folder)
        subprocess.run(
            [sys.executable, "-m", "mloop", "init"], check=True, stdout=subprocess.DEVNULL
        )
        body, raw_ms = _prepare(folder)
        runs: dict[str, list[dict[str, object]]] = {name: [] for name in SETTINGS}
        for _ in range(args.repeat):  # alternate, so all see the same machine
            for name, extra in SETTINGS.items():
                runs[name].append(_measure(folder, body, args.seconds, extra))
        on, bare, off = (_median(runs[name]) for name in SETTINGS)
    cost = 1 - on["c8"]["rps"] / off["c8"]["rps"]  # type: ignore[index]
    journal_cost = 1 - on["c8"]["rps"] / bare["c8"]["rps"]  # type: ignore[index]
    journal_p50 = on["c1"]["p50_ms"] / bare["c1"]["p50_ms"]  # type: ignore[index]
    print(
        json.dumps(
            {
                "bench": "serving",
                "model": "GradientBoostingClassifier, breast cancer, one row per request",
                "raw_predict_ms": round(raw_ms, 3),
                "log_on": on,
                "journal_off": bare,
                "log_off": off,
                "logging_cost": round(cost, 3),
                "journal_cost": round(journal_cost, 3),
                "journal_c1_p50": round(journal_p50, 3),
                "targets": {
                    "c8_rps_log_on": 1000,
                    "c1_p50_ms": 1.5,
                    "logging_cost": 0.10,
                    "journal_cost": 0.10,
                    "journal_c1_p50": 1.10,
                },
                "met": {
                    "c8_rps_log_on": on["c8"]["rps"] >= 1000,  # type: ignore[index]
                    "c1_p50_ms": on["c1"]["p50_ms"] <= 1.5,  # type: ignore[index]
                    "logging_cost": cost <= 0.10,
                    "journal_cost": journal_cost <= 0.10,
                    "journal_c1_p50": journal_p50 <= 1.10,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
