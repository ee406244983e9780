"""Pipelines the pipeline tests run (importable, so Dask workers can load their steps)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import mloop


def scale(values: pd.Series) -> pd.Series:
    return (values - values.mean()) / values.std()


@mloop.step
def load(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    return frame.assign(y=(frame.a + frame.b > 0).astype(int))


@mloop.step
def features(data: pd.DataFrame) -> pd.DataFrame:
    return data.assign(a=scale(data.a))


@mloop.step
def train(data: pd.DataFrame, c: float) -> LogisticRegression:
    return LogisticRegression(C=c).fit(data[["a", "b"]], data["y"])


@mloop.step
def accuracy(model: object, data: pd.DataFrame) -> float:
    return float((model.predict(data[["a", "b"]]) == data["y"]).mean())  # type: ignore[attr-defined]


@mloop.step
def rows_of(data: pd.DataFrame) -> dict:
    return {"rows": len(data), "columns": list(data.columns)}


@mloop.pipeline
def training(rows: int = 400, seed: int = 0, c: float = 1.0):
    data = load(rows, seed)
    ready = features(data)
    model = train(ready, c)
    return {"accuracy": accuracy(model, ready), "shape": rows_of(data)}


@mloop.step(retries=2)
def flaky(data: pd.DataFrame, counter: str) -> int:
    """Fails until it has been called three times (counted in a file)."""
    path = Path(counter)
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls < 3:
        raise RuntimeError(f"transient failure {calls}")
    return len(data)


@mloop.step
def guarded(data: pd.DataFrame, stop_file: str) -> int:
    """Fails while ``stop_file`` exists."""
    if os.path.exists(stop_file):
        raise RuntimeError("the stop file is there")
    return len(data)


@mloop.step
def total(a: int, b: int) -> int:
    return a + b


@mloop.pipeline
def fragile(counter: str, stop_file: str):
    data = load(50, 1)
    return total(flaky(data, counter), guarded(data, stop_file))


def quadratic(x: float, y: int, kind: str) -> float:
    """Largest (1.0) at x = 2, y = 3, kind "b"."""
    return -((x - 2) ** 2) - (y - 3) ** 2 + (1.0 if kind == "b" else 0.0)


def fit_c(c: float) -> dict:
    data = load.fn(300, 0)
    model = LogisticRegression(C=c).fit(data[["a", "b"]], data["y"])
    return {"accuracy": float(model.score(data[["a", "b"]], data["y"])), "model": model}
