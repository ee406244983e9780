"""Metrics per slice: the rows sharing one value of a chosen column.

A column with at most :data:`MAX_CATEGORIES` distinct values, or of a
categorical, boolean or text type, gives one slice per value. A numeric column
with more values is cut into :data:`QUANTILE_BINS` bins at its quantiles
(quintiles: about a fifth of the rows each; equal edges merge, so heavily tied
columns give fewer bins), labelled ``[low, high)`` and, for the last,
``[low, high]``. Missing values (None, NaN) form a slice of their own, ``missing``.

Every slice is reported with its row count. Slices of fewer than
:data:`MIN_ROWS` rows are too noisy to judge a model by: they are reported but
not ``gated`` (the slice-regression gate skips them).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument
from mloop.evaluation.metrics import Metrics, compute_metrics
from mloop.evaluation.predictor import Predictions, Task

MIN_ROWS = 30
"""Slices (and fairness groups) with fewer rows are reported but not gated."""
MAX_CATEGORIES = 10
"""A numeric column with more distinct values than this is binned."""
QUANTILE_BINS = 5
MISSING = "missing"
"""The label of the slice of rows whose value is missing."""


@dataclass(frozen=True, slots=True)
class SliceResult:
    """Both models' metrics on the rows where ``column`` has the value (or bin) ``value``."""

    column: str
    value: str
    rows: int
    gated: bool
    candidate: Metrics
    baseline: Metrics | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "column": self.column,
            "value": self.value,
            "rows": self.rows,
            "gated": self.gated,
            "candidate": self.candidate.to_dict(),
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SliceResult:
        """Read :meth:`to_dict` output back."""
        baseline = data["baseline"]
        return cls(
            column=str(data["column"]),
            value=str(data["value"]),
            rows=int(data["rows"]),
            gated=bool(data["gated"]),
            candidate=Metrics.from_dict(data["candidate"]),
            baseline=None if baseline is None else Metrics.from_dict(baseline),
        )


def group_rows(values: pd.Series) -> tuple[list[str], np.ndarray]:
    """The slice labels of a column and each row's slice number (an index into the labels)."""
    if _is_binned(values):
        return _quantile_bins(values.to_numpy(dtype=np.float64, na_value=np.nan))
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # values of types that do not order: first-seen order
        codes, uniques = pd.factorize(values)
    labels = [str(value) for value in uniques]
    if np.any(codes < 0):
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(MISSING)
    return labels, codes


def slice_metrics(
    values: pd.Series,
    y_true: np.ndarray,
    task: Task,
    candidate: Predictions,
    baseline: Predictions | None = None,
    *,
    min_rows: int = MIN_ROWS,
) -> list[SliceResult]:
    """The metrics of both models in every slice of the column ``values``.

    ``values``, ``y_true`` and the predictions are aligned by position.
    """
    if len(values) != len(y_true):
        raise InvalidArgument(
            f"column {values.name!r} has {len(values)} values for {len(y_true)} targets"
        )
    labels, codes = group_rows(values)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    results = []
    for number, label in enumerate(labels):
        rows = order[bounds[number] : bounds[number + 1]]
        if len(rows) == 0:
            continue
        truth = y_true[rows]
        results.append(
            SliceResult(
                column=str(values.name),
                value=label,
                rows=len(rows),
                gated=len(rows) >= min_rows,
                candidate=compute_metrics(task, truth, candidate.take(rows)),
                baseline=None
                if baseline is None
                else compute_metrics(task, truth, baseline.take(rows)),
            )
        )
    return results


def _is_binned(values: pd.Series) -> bool:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return False
    return bool(pd.api.types.is_numeric_dtype(dtype) and values.nunique() > MAX_CATEGORIES)


def _quantile_bins(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    present = ~np.isnan(values)
    edges = np.unique(np.quantile(values[present], np.linspace(0, 1, QUANTILE_BINS + 1)))
    # Bin i holds edges[i] <= value < edges[i + 1]; the last bin also holds its right edge.
    codes = np.searchsorted(edges[1:-1], values, side="right")
    labels = [f"[{low:g}, {high:g})" for low, high in itertools.pairwise(edges)]
    labels[-1] = labels[-1][:-1] + "]"
    if not present.all():
        codes = np.where(present, codes, len(labels))
        labels.append(MISSING)
    return labels, codes
