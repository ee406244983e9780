"""Explanations: global permutation importance for any model, and feature contributions.

Permutation importance shuffles one column at a time and measures how much the
task's main metric (accuracy for classification, rmse for regression, unless
another is named) gets worse: a feature the model relies on loses it a lot, a
feature it ignores nothing. Each column is shuffled ``n_repeats`` times with a
seeded generator, so results repeat; the mean and standard deviation of the
losses are reported. At most ``max_rows`` rows, drawn at random, are used: the
model predicts ``n_repeats`` times per column, so this bounds the cost.

Contributions are per-row, per-feature parts of each prediction, for the model
flavors that compute them cheaply (for LightGBM, its tree SHAP values). Their
mean absolute value per feature is kept as a global view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument
from mloop.evaluation.metrics import (
    DIRECTION,
    MAIN_METRIC,
    METRICS,
    PROBA_METRICS,
    compute_metrics,
)
from mloop.evaluation.predictor import Predictor, Task, predict

MAX_ROWS = 5000
"""Permutation importance and contributions use at most this many rows."""
N_REPEATS = 5


@dataclass(frozen=True, slots=True)
class FeatureImportance:
    """How much ``metric`` worsens, on average over the repeats, when ``feature`` is shuffled.

    Positive: the model relies on the feature; about 0: it does not. None when the
    metric is undefined on the rows used.
    """

    feature: str
    mean: float | None
    std: float | None


@dataclass(frozen=True, slots=True)
class Importance:
    """Permutation importance of every feature, most important first.

    ``score`` is the metric on the ``rows`` rows used, before any shuffling.
    """

    metric: str
    score: float | None
    rows: int
    n_repeats: int
    features: tuple[FeatureImportance, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "metric": self.metric,
            "score": self.score,
            "rows": self.rows,
            "n_repeats": self.n_repeats,
            "features": [
                {"feature": item.feature, "mean": item.mean, "std": item.std}
                for item in self.features
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Importance:
        """Read :meth:`to_dict` output back."""
        return cls(
            metric=str(data["metric"]),
            score=data["score"],
            rows=int(data["rows"]),
            n_repeats=int(data["n_repeats"]),
            features=tuple(FeatureImportance(**item) for item in data["features"]),
        )


@dataclass(frozen=True, slots=True)
class Contributions:
    """The mean absolute contribution of each feature over ``rows`` rows, largest first."""

    rows: int
    mean_abs: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "rows": self.rows,
            "mean_abs": [{"feature": name, "value": value} for name, value in self.mean_abs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Contributions:
        """Read :meth:`to_dict` output back."""
        return cls(
            rows=int(data["rows"]),
            mean_abs=tuple(
                (str(item["feature"]), float(item["value"])) for item in data["mean_abs"]
            ),
        )


def permutation_importance(
    predictor: Predictor,
    frame: pd.DataFrame,
    y_true: np.ndarray,
    *,
    task: Task,
    metric: str | None = None,
    n_repeats: int = N_REPEATS,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> Importance:
    """Permutation importance of every column of ``frame`` for ``predictor``."""
    metric = metric or MAIN_METRIC[task]
    if metric not in METRICS[task]:
        raise InvalidArgument(
            f"permutation importance of {task} uses one of {', '.join(METRICS[task])}, "
            f"not {metric!r}"
        )
    if n_repeats < 1 or max_rows < 1:
        raise InvalidArgument("n_repeats and max_rows must be at least 1")
    rng = np.random.default_rng(seed)
    frame, y_true = _sample(frame, y_true, max_rows, rng)
    rows = len(frame)
    score = _score(predictor, frame, y_true, task, metric)
    features = [
        _summarise(
            str(column),
            _losses(
                predictor,
                frame,
                y_true,
                str(column),
                task=task,
                metric=metric,
                score=score,
                n_repeats=n_repeats,
                rng=rng,
            ),
        )
        for column in frame.columns
    ]
    features.sort(key=lambda item: -np.inf if item.mean is None else item.mean, reverse=True)
    return Importance(metric, score, rows, n_repeats, tuple(features))


def contributions(
    predictor: Predictor,
    frame: pd.DataFrame,
    *,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> Contributions | None:
    """The mean absolute contribution per feature, or None when the model has none."""
    frame, _ = _sample(frame, np.zeros(len(frame)), max_rows, np.random.default_rng(seed))
    values = predictor.contributions(frame)
    if values is None:
        return None
    if not isinstance(values, pd.DataFrame) or len(values) != len(frame):
        raise InvalidArgument(
            f"contributions must be a DataFrame of one row per input row ({len(frame)}), "
            f"got {type(values).__name__} of {len(values)} rows"
        )
    mean_abs = values.abs().mean(axis=0).sort_values(ascending=False, kind="stable")
    return Contributions(
        len(frame), tuple((str(name), float(value)) for name, value in mean_abs.items())
    )


def _losses(
    predictor: Predictor,
    frame: pd.DataFrame,
    y_true: np.ndarray,
    column: str,
    *,
    task: Task,
    metric: str,
    score: float | None,
    n_repeats: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The metric's loss for each of ``n_repeats`` shuffles of ``column``, predicted at once."""
    rows = len(frame)
    shuffled = pd.concat([frame] * n_repeats, ignore_index=True)
    order = np.concatenate([rng.permutation(rows) for _ in range(n_repeats)])
    shuffled[column] = frame[column].iloc[order].set_axis(shuffled.index)
    truth = np.tile(y_true, n_repeats)
    outputs = predict(predictor, shuffled, truth, task, role="model", proba=metric in PROBA_METRICS)
    losses = np.empty(n_repeats)
    for k in range(n_repeats):
        part = outputs.take(np.arange(k * rows, (k + 1) * rows))
        losses[k] = _loss(score, compute_metrics(task, y_true, part)[metric], metric)
    return losses


def _sample(
    frame: pd.DataFrame, y_true: np.ndarray, max_rows: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True), y_true
    rows = np.sort(rng.choice(len(frame), size=max_rows, replace=False))
    return frame.iloc[rows].reset_index(drop=True), y_true[rows]


def _score(
    predictor: Predictor, frame: pd.DataFrame, y_true: np.ndarray, task: Task, metric: str
) -> float | None:
    outputs = predict(predictor, frame, y_true, task, role="model", proba=metric in PROBA_METRICS)
    return compute_metrics(task, y_true, outputs)[metric]


def _loss(before: float | None, after: float | None, metric: str) -> float:
    if before is None or after is None:
        return np.nan
    return before - after if DIRECTION[metric] == "higher" else after - before


def _summarise(feature: str, losses: np.ndarray) -> FeatureImportance:
    if np.isnan(losses).any():
        return FeatureImportance(feature, None, None)
    return FeatureImportance(feature, float(np.mean(losses)), float(np.std(losses)))
