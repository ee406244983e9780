"""Group fairness of a binary classifier across the groups of a sensitive column.

For every group (one per value of the column, grouped as slices are) the
report gives the row count, the selection rate (share of rows predicted
positive), the true positive rate (share of positive rows predicted positive),
the false positive rate (share of negative rows predicted positive) and the
accuracy. A rate with nothing to divide by (a group without positive rows has
no TPR) is None.

The two differences follow fairlearn's definitions:

- ``demographic_parity_difference``: the largest minus the smallest selection rate;
- ``equalized_odds_difference``: the larger of the TPR spread (largest minus
  smallest) and the FPR spread.

They are taken over the groups of at least ``min_group_rows`` rows
(:data:`mloop.evaluation.slices.MIN_ROWS` by default), so that a group of a
handful of people does not decide the result; every group is still reported.
With ``min_group_rows=0`` they equal fairlearn's
``demographic_parity_difference`` and ``equalized_odds_difference``. Only
binary classification is supported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument
from mloop.evaluation.metrics import finite_or_none
from mloop.evaluation.predictor import Predictions, json_label
from mloop.evaluation.slices import MIN_ROWS, group_rows

FAIRNESS_METRICS = ("demographic_parity_difference", "equalized_odds_difference")
"""The fairness measures a gate can bound (lower is fairer; 0 is parity)."""


@dataclass(frozen=True, slots=True)
class GroupMetrics:
    """One group's rates; ``counted`` says whether the differences include it."""

    group: str
    count: int
    selection_rate: float | None
    tpr: float | None
    fpr: float | None
    accuracy: float | None
    counted: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "group": self.group,
            "count": self.count,
            "selection_rate": self.selection_rate,
            "tpr": self.tpr,
            "fpr": self.fpr,
            "accuracy": self.accuracy,
            "counted": self.counted,
        }


@dataclass(frozen=True, slots=True)
class FairnessMetrics:
    """One model's group metrics and differences for one sensitive column."""

    groups: tuple[GroupMetrics, ...]
    demographic_parity_difference: float | None
    equalized_odds_difference: float | None

    def __getitem__(self, name: str) -> float | None:
        if name not in FAIRNESS_METRICS:
            raise InvalidArgument(f"no fairness metric {name!r}; one of {FAIRNESS_METRICS}")
        value: float | None = getattr(self, name)
        return value

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "demographic_parity_difference": self.demographic_parity_difference,
            "equalized_odds_difference": self.equalized_odds_difference,
            "groups": [group.to_dict() for group in self.groups],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FairnessMetrics:
        """Read :meth:`to_dict` output back."""
        return cls(
            groups=tuple(GroupMetrics(**group) for group in data["groups"]),
            demographic_parity_difference=finite_or_none(data["demographic_parity_difference"]),
            equalized_odds_difference=finite_or_none(data["equalized_odds_difference"]),
        )


@dataclass(frozen=True, slots=True)
class FairnessResult:
    """Both models' fairness across the groups of the sensitive ``column``.

    ``positive`` is the positive class: the last of the candidate's classes.
    """

    column: str
    positive: Any
    candidate: FairnessMetrics
    baseline: FairnessMetrics | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "column": self.column,
            "positive": json_label(self.positive),
            "candidate": self.candidate.to_dict(),
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FairnessResult:
        """Read :meth:`to_dict` output back."""
        baseline = data["baseline"]
        return cls(
            column=str(data["column"]),
            positive=data["positive"],
            candidate=FairnessMetrics.from_dict(data["candidate"]),
            baseline=None if baseline is None else FairnessMetrics.from_dict(baseline),
        )


def fairness_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sensitive: pd.Series,
    positive: Any,
    *,
    min_group_rows: int = MIN_ROWS,
) -> FairnessMetrics:
    """Group rates and differences of the predictions ``y_pred`` of ``y_true``.

    ``positive`` is the label of the positive class; ``sensitive`` holds each
    row's value of the sensitive column, aligned by position.
    """
    if not len(y_true) == len(y_pred) == len(sensitive):
        raise InvalidArgument(
            f"{len(y_true)} targets, {len(y_pred)} predictions and {len(sensitive)} "
            "sensitive values: give one of each per row"
        )
    labels, codes = group_rows(sensitive)
    size = len(labels)
    true_pos, pred_pos = y_true == positive, y_pred == positive

    def per_group(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=mask, minlength=size)

    count = np.bincount(codes, minlength=size)
    positives = per_group(true_pos)
    with np.errstate(divide="ignore", invalid="ignore"):  # empty denominators give NaN
        selection = per_group(pred_pos) / count
        tpr = per_group(true_pos & pred_pos) / positives
        fpr = per_group(~true_pos & pred_pos) / (count - positives)
        accuracy = per_group(y_true == y_pred) / count
    counted = (count >= max(min_group_rows, 1)) & (count > 0)
    groups = tuple(
        GroupMetrics(
            labels[i],
            int(count[i]),
            finite_or_none(selection[i]),
            finite_or_none(tpr[i]),
            finite_or_none(fpr[i]),
            finite_or_none(accuracy[i]),
            bool(counted[i]),
        )
        for i in range(size)
        if count[i] > 0
    )
    tpr_spread, fpr_spread = _spread(tpr[counted]), _spread(fpr[counted])
    spreads = [spread for spread in (tpr_spread, fpr_spread) if spread is not None]
    return FairnessMetrics(
        groups=groups,
        demographic_parity_difference=_spread(selection[counted]),
        equalized_odds_difference=max(spreads) if spreads else None,
    )


def fairness(
    sensitive: pd.Series,
    y_true: np.ndarray,
    candidate: Predictions,
    baseline: Predictions | None = None,
    *,
    min_group_rows: int = MIN_ROWS,
) -> FairnessResult:
    """Fairness of both models across the groups of the column ``sensitive``."""
    classes = candidate.classes
    if classes is None or len(classes) != 2:
        found = "no classes" if classes is None else f"{len(classes)} classes"
        raise InvalidArgument(
            f"fairness metrics need binary classification, but the candidate has {found}; "
            f"drop the sensitive column {sensitive.name!r} or evaluate a binary target"
        )
    positive = candidate.positive

    def of(predictions: Predictions) -> FairnessMetrics:
        return fairness_metrics(
            y_true, predictions.labels, sensitive, positive, min_group_rows=min_group_rows
        )

    return FairnessResult(
        column=str(sensitive.name),
        positive=positive,
        candidate=of(candidate),
        baseline=None if baseline is None else of(baseline),
    )


def _spread(rates: np.ndarray) -> float | None:
    """Largest minus smallest of the defined rates (fairlearn skips undefined ones)."""
    defined = rates[~np.isnan(rates)]
    return finite_or_none(defined.max() - defined.min()) if defined.size else None
