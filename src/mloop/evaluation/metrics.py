"""The standard metrics of a task, computed on the same rows for every model.

Classification: ``accuracy``, ``balanced_accuracy``, ``precision``, ``recall``
and ``f1``, plus ``roc_auc`` and ``log_loss`` when the model gives
probabilities. With two classes, precision, recall and f1 are those of the
positive class, the last of the model's classes (the larger label: 1 of 0/1,
True of False); with more, they are macro averages over the classes present in
the target or the predictions. Regression: ``rmse``, ``mae``, ``r2`` and
``mape``. Every result also counts its rows.

A metric that is undefined on the rows measured is None, never an exception or
a NaN: ``roc_auc`` of rows with a single class, ``r2`` of a constant target,
``mape`` when every target is 0, anything of no rows. :data:`DIRECTION` says
which way each metric improves; the gates use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument
from mloop.evaluation.predictor import Predictions, Task

CLASSIFICATION_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
)
PROBA_METRICS = ("roc_auc", "log_loss")
"""The metrics computed from class probabilities."""
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape")
METRICS: dict[Task, tuple[str, ...]] = {
    "classification": CLASSIFICATION_METRICS,
    "regression": REGRESSION_METRICS,
}
MAIN_METRIC: dict[Task, str] = {"classification": "accuracy", "regression": "rmse"}
"""The metric that permutation importance and slice regression use unless told otherwise."""

Direction = Literal["higher", "lower"]
DIRECTION: dict[str, Direction] = {
    "accuracy": "higher",
    "balanced_accuracy": "higher",
    "precision": "higher",
    "recall": "higher",
    "f1": "higher",
    "roc_auc": "higher",
    "log_loss": "lower",
    "rmse": "lower",
    "mae": "lower",
    "r2": "higher",
    "mape": "lower",
}
"""Which way each metric gets better."""


@dataclass(frozen=True, slots=True)
class Metrics:
    """The metrics of one model on ``rows`` rows; a value is None where undefined."""

    rows: int
    values: Mapping[str, float | None]

    def __getitem__(self, name: str) -> float | None:
        if name not in self.values:
            raise InvalidArgument(
                f"no metric {name!r}; these were computed: {', '.join(self.values)}"
            )
        return self.values[name]

    def to_dict(self) -> dict[str, Any]:
        """``{"rows": ..., "accuracy": ..., ...}``: JSON-safe (undefined values are null)."""
        return {"rows": self.rows, **self.values}

    @classmethod
    def from_dict(cls, data: Any) -> Metrics:
        """Read :meth:`to_dict` output back."""
        if not isinstance(data, dict) or type(data.get("rows")) is not int:
            raise InvalidArgument(f"metrics must be an object with integer rows, got {data!r:.80}")
        values = {key: value for key, value in data.items() if key != "rows"}
        for key, value in values.items():
            if value is not None and type(value) not in (int, float):
                raise InvalidArgument(f"metric {key!r} must be a number or null, got {value!r}")
        return cls(data["rows"], {key: finite_or_none(value) for key, value in values.items()})


def compute_metrics(task: Task, y_true: np.ndarray, predictions: Predictions) -> Metrics:
    """The metrics of ``task`` for ``predictions`` of the target values ``y_true``."""
    if task == "regression":
        return Metrics(len(y_true), regression_metrics(y_true, predictions.labels))
    if predictions.classes is None:
        raise InvalidArgument("classification metrics need the classifier's classes")
    return Metrics(
        len(y_true),
        classification_metrics(y_true, predictions.labels, predictions.proba, predictions.classes),
    )


def classification_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    classes: tuple[Any, ...],
) -> dict[str, float | None]:
    """Classification metrics; ``proba`` has one column per class, in ``classes`` order."""
    from sklearn.metrics import precision_recall_fscore_support  # sklearn: 0.5 s to import

    if len(y_true) == 0:
        return dict.fromkeys(CLASSIFICATION_METRICS)
    if len(classes) == 2:
        positive = classes[-1]
        precision, recall, f1, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=[positive], average=None, zero_division=0.0
        )
        precision, recall, f1 = precision[0], recall[0], f1[0]
    else:
        precision, recall, f1, _ = precision_recall_fscore_support(
            y_true, y_pred, average="macro", zero_division=0.0
        )
    return {
        "accuracy": finite_or_none(np.mean(y_true == y_pred)),
        "balanced_accuracy": _balanced_accuracy(y_true, y_pred),
        "precision": finite_or_none(precision),
        "recall": finite_or_none(recall),
        "f1": finite_or_none(f1),
        "roc_auc": None if proba is None else roc_auc(y_true, proba, classes),
        "log_loss": None if proba is None else log_loss(y_true, proba, classes),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    """Regression metrics; ``mape`` is a fraction (0.05 is 5%) over the rows whose target
    is not 0, and None when every target is 0."""
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if len(y_true) == 0 or not np.isfinite(y_pred).all():
        return dict.fromkeys(REGRESSION_METRICS)
    nonzero = y_true != 0
    constant = bool(np.all(y_true == y_true[0]))
    with np.errstate(all="ignore"):  # overflow gives inf, recorded as undefined
        return {
            "rmse": finite_or_none(root_mean_squared_error(y_true, y_pred)),
            "mae": finite_or_none(mean_absolute_error(y_true, y_pred)),
            "r2": None if constant else finite_or_none(r2_score(y_true, y_pred)),
            "mape": finite_or_none(np.mean(np.abs((y_true - y_pred)[nonzero] / y_true[nonzero])))
            if nonzero.any()
            else None,
        }


def roc_auc(y_true: np.ndarray, proba: np.ndarray, classes: tuple[Any, ...]) -> float | None:
    """Area under the ROC curve, None when undefined.

    Binary: of the positive class's probability, None unless both classes occur.
    More classes: the mean of one-vs-rest areas over the classes that occur and
    do not fill every row (scikit-learn's ``multi_class="ovr"`` macro average
    when every class occurs).
    """
    from sklearn.metrics import roc_auc_score

    if not np.isfinite(proba).all():
        return None
    areas = []
    columns = [len(classes) - 1] if len(classes) == 2 else range(len(classes))
    for column in columns:
        hits = y_true == classes[column]
        if 0 < np.count_nonzero(hits) < len(hits):
            areas.append(roc_auc_score(hits, proba[:, column]))
    return finite_or_none(np.mean(areas)) if areas else None


def log_loss(y_true: np.ndarray, proba: np.ndarray, classes: tuple[Any, ...]) -> float | None:
    """Mean negative log-probability of the true class (clipped to machine epsilon),
    None when a target value is not one of ``classes``."""
    where = pd.Index(classes).get_indexer(y_true)
    if np.any(where < 0):
        return None
    eps = np.finfo(np.float64).eps
    chosen = np.clip(proba[np.arange(len(y_true)), where], eps, 1.0)
    return finite_or_none(-np.mean(np.log(chosen)))


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    """Mean recall over the classes in ``y_true`` (scikit-learn's definition, without
    its warning when the predictions hold a class the target lacks)."""
    labels, codes = np.unique(y_true, return_inverse=True)
    totals = np.bincount(codes, minlength=len(labels))
    hits = np.bincount(codes, weights=(y_true == y_pred), minlength=len(labels))
    return finite_or_none(np.mean(hits / totals))


def finite_or_none(value: Any) -> float | None:
    """A plain float, or None for a missing, NaN or infinite value."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
