"""What a monitor compares every window with, computed once when it is created.

From the reference dataset version and the deployment's model at that moment: the
drift reference of the model's input columns, of the model's predictions on the
reference, and of the target; the profile of the inputs (for the data-quality
checks); and the model's performance on the reference when the target is known.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from mloop.blobs import Digest
from mloop.data.profile import Profile, profile_table
from mloop.errors import InvalidArgument
from mloop.evaluation.metrics import (
    REGRESSION_METRICS,
    classification_metrics,
    regression_metrics,
)
from mloop.models.load import LoadedModel
from mloop.monitoring.reference import Reference, build_reference
from mloop.serving.query import class_key
from mloop.tracking.client import Client

PREDICTION = "prediction"
CLASSIFICATION = "classification"
REGRESSION = "regression"
METRICS = {CLASSIFICATION: "accuracy", REGRESSION: "mae"}


@dataclass(frozen=True, slots=True)
class Baseline:
    features: Reference
    prediction: Reference
    target: Reference | None
    profile: Profile
    task: str
    performance: float | None
    """accuracy (classification) or mean absolute error (regression) on the reference."""

    @property
    def metric(self) -> str:
        return METRICS[self.task]

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": self.features.to_dict(),
            "prediction": self.prediction.to_dict(),
            "target": None if self.target is None else self.target.to_dict(),
            "profile": self.profile.to_dict(),
            "task": self.task,
            "performance": self.performance,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Baseline:
        target = data.get("target")
        return cls(
            Reference.from_dict(data["features"]),
            Reference.from_dict(data["prediction"]),
            None if target is None else Reference.from_dict(target),
            Profile.from_dict(data["profile"]),
            data["task"],
            data.get("performance"),
        )

    def store(self, client: Client) -> str:
        return client.blobs.put_bytes(json.dumps(self.to_dict()).encode()).hex

    @classmethod
    def load(cls, client: Client, digest: str) -> Baseline:
        return cls.from_dict(json.loads(client.blobs.get_bytes(Digest(digest))))


def build_baseline(
    frame: pd.DataFrame, model: LoadedModel, *, target: str | None, columns: list[str] | None
) -> Baseline:
    features = columns or _model_inputs(model, frame, target)
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise InvalidArgument(f"the reference has no column {missing[0]!r}")
    if target is not None and target not in frame.columns:
        raise InvalidArgument(
            f"the reference has no target column {target!r} (its columns: "
            f"{', '.join(map(str, frame.columns))})"
        )
    inputs = frame[features]
    predictions = np.asarray(model.predict(inputs))
    task = CLASSIFICATION if model.classes is not None else REGRESSION
    performance = None
    if target is not None:  # rows without a target say nothing about performance
        performance = metric_value(task, frame[target].to_numpy(), predictions)
    return Baseline(
        build_reference(inputs),
        build_reference(pd.DataFrame({PREDICTION: predictions})),
        None if target is None else build_reference(frame[[target]]),
        profile_table(pa.Table.from_pandas(inputs, preserve_index=False)),
        task,
        performance,
    )


def _model_inputs(model: LoadedModel, frame: pd.DataFrame, target: str | None) -> list[str]:
    if model.signature is not None:
        return [name for name in model.signature.input_names if name in frame.columns]
    return [str(c) for c in frame.columns if c != target]


def metric_value(task: str, truth: Any, predictions: Any) -> float | None:
    """accuracy or mean absolute error over the rows that have a label (a regressor's
    labels and predictions must be numbers: others are left out); None without any."""
    return logged_metric("accuracy" if task == CLASSIFICATION else "mae", task, truth, predictions)


def logged_metric(metric: str, task: str, truth: Any, predictions: Any) -> float | None:
    """``metric`` (a classification or regression metric computed from predicted labels)
    of ``predictions`` against the labels ``truth`` as logged: rows without a label are
    left out, and so are a regressor's rows that are not numbers; classes are compared as
    the serving log compares them (1.0 and "1" are one). None when nothing is left."""
    truth, predictions = np.asarray(truth, dtype=object), np.asarray(predictions, dtype=object)
    known = pd.notna(truth)
    truth, predictions = truth[known], predictions[known]
    if metric in REGRESSION_METRICS:
        if task != REGRESSION:
            return None
        t = pd.to_numeric(pd.Series(truth), errors="coerce").to_numpy(dtype=float)
        p = pd.to_numeric(pd.Series(predictions), errors="coerce").to_numpy(dtype=float)
        usable = np.isfinite(t) & np.isfinite(p)
        if not usable.any():
            return None
        return regression_metrics(t[usable], p[usable]).get(metric)
    if task != CLASSIFICATION or not len(truth):
        return None
    t, p = (np.array([class_key(v) for v in values]) for values in (truth, predictions))
    return classification_metrics(t, p, None, tuple(sorted(set(t) | set(p)))).get(metric)
