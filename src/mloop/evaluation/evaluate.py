"""Evaluate a candidate model, against a baseline, on one table: the whole computation.

:func:`evaluate_predictors` runs both models once on the same rows, then
measures: the task's metrics overall and per slice, fairness per sensitive
column, the candidate's permutation importance and contributions, and the
gates. Bad input is refused before any model runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument
from mloop.evaluation.fairness import fairness
from mloop.evaluation.gates import Gates, check
from mloop.evaluation.importance import (
    Contributions,
    Importance,
    contributions,
    permutation_importance,
)
from mloop.evaluation.metrics import compute_metrics
from mloop.evaluation.predictor import TASKS, Predictor, Task, as_labels, class_labels, predict
from mloop.evaluation.result import EvaluationResult
from mloop.evaluation.slices import MIN_ROWS, slice_metrics


def evaluate_predictors(
    candidate: Predictor,
    data: pd.DataFrame,
    target: str,
    *,
    task: Task,
    baseline: Predictor | None = None,
    slices: Sequence[str] = (),
    sensitive: Sequence[str] = (),
    gates: Gates | Sequence[str] | str | None = None,
    importance: bool = True,
    seed: int = 0,
    min_rows: int = MIN_ROWS,
) -> EvaluationResult:
    """Measure ``candidate`` (and ``baseline``) on ``data`` and judge the ``gates``.

    ``target`` is the column of true values; the models receive every other
    column. ``slices`` are the columns to slice by, ``sensitive`` the columns to
    measure fairness across (binary classification only). ``gates`` is a
    :class:`Gates` or gate texts (``["accuracy>=0.8", "roc_auc>=+0.01"]``).
    ``importance`` computes the candidate's permutation importance and
    contributions, seeded by ``seed``. Slices and fairness groups of fewer than
    ``min_rows`` rows are reported but not gated.
    """
    slices, sensitive = _names(slices), _names(sensitive)
    _check_table(data, target, task, (*slices, *sensitive))
    spec = _gates(gates)
    spec.validate(task, slices=slices, sensitive=sensitive)
    y = _target(data, target, task, candidate, sensitive)
    features = data.drop(columns=[target])
    ours = predict(candidate, features, y, task, role="candidate")
    theirs = None if baseline is None else predict(baseline, features, y, task, role="baseline")
    measured = compute_metrics(task, y, ours)
    compared = None if theirs is None else compute_metrics(task, y, theirs)
    sliced = tuple(
        result
        for column in slices
        for result in slice_metrics(data[column], y, task, ours, theirs, min_rows=min_rows)
    )
    fair = tuple(
        fairness(data[column], y, ours, theirs, min_group_rows=min_rows) for column in sensitive
    )
    checks = check(
        spec, task=task, candidate=measured, baseline=compared, slices=sliced, fairness=fair
    )
    explained = _explain(candidate, features, y, task, seed) if importance else (None, None)
    return EvaluationResult(
        task=task,
        target=target,
        rows=len(data),
        candidate=measured,
        baseline=compared,
        classes=ours.classes,
        slices=sliced,
        fairness=fair,
        importance=explained[0],
        contributions=explained[1],
        gates=spec,
        checks=tuple(checks),
    )


def _explain(
    candidate: Predictor, features: pd.DataFrame, y_true: np.ndarray, task: Task, seed: int
) -> tuple[Importance, Contributions | None]:
    """The candidate's permutation importance and contributions, on the same sampled rows."""
    return (
        permutation_importance(candidate, features, y_true, task=task, seed=seed),
        contributions(candidate, features, seed=seed),
    )


def _names(columns: Sequence[str]) -> tuple[str, ...]:
    """Column names; a single name is accepted for one column."""
    return (columns,) if isinstance(columns, str) else tuple(columns)


def _gates(gates: Gates | Sequence[str] | str | None) -> Gates:
    if gates is None:
        return Gates()
    return gates if isinstance(gates, Gates) else Gates.parse(gates)


def _check_table(data: pd.DataFrame, target: str, task: str, columns: Sequence[str]) -> None:
    if not isinstance(data, pd.DataFrame):
        raise InvalidArgument(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if task not in TASKS:
        raise InvalidArgument(f"task must be 'classification' or 'regression', got {task!r}")
    if len(data) == 0:
        raise InvalidArgument("the data has no rows: there is nothing to evaluate on")
    for column, what in ((target, "target"), *((name, "slice or sensitive") for name in columns)):
        if column not in data.columns:
            raise InvalidArgument(
                f"the {what} column {column!r} is not in the data; its columns are "
                f"{', '.join(map(str, data.columns[:20]))}"
                + (", ..." if len(data.columns) > 20 else "")
            )
    if data.columns.duplicated().any():
        twice = sorted({str(name) for name in data.columns[data.columns.duplicated()]})
        raise InvalidArgument(f"the data has more than one column named {', '.join(twice)}")


def _target(
    data: pd.DataFrame, target: str, task: Task, candidate: Predictor, sensitive: Sequence[str]
) -> np.ndarray:
    """The target values, checked: none missing, numbers for regression, two classes for
    fairness."""
    y_true = as_labels(data[target].to_numpy())
    missing = int(pd.isna(y_true).sum())
    if missing:
        raise InvalidArgument(
            f"the target column {target!r} has {missing:,} missing values; "
            "drop those rows or fill them before evaluating"
        )
    if task == "regression" and y_true.dtype.kind not in "biuf":
        raise InvalidArgument(
            f"the target column {target!r} holds {y_true.dtype} values; regression needs numbers"
        )
    if not sensitive:
        return y_true
    if task == "regression":
        raise InvalidArgument(
            "fairness metrics need binary classification; drop the sensitive columns "
            f"({', '.join(sensitive)}) for regression"
        )
    declared = candidate.classes
    classes = class_labels(y_true.astype(object)) if declared is None else tuple(declared)
    if len(classes) != 2:
        raise InvalidArgument(
            f"fairness metrics need binary classification, but {target!r} has "
            f"{len(classes)} classes; drop the sensitive columns ({', '.join(sensitive)})"
        )
    return y_true
