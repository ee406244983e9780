"""Drift between a reference and a current window: per feature, and for the dataset.

The test for each column is chosen by its kind and the sizes of both sides (the
rule Evidently uses, with the current size added, so verdicts agree on large data):

| column | reference and current rows | test | drift when |
|---|---|---|---|
| numeric, more than 5 distinct values | either up to 1,000 | Kolmogorov-Smirnov | p-value < 0.05 |
| numeric, more than 5 distinct values | both over 1,000 | Wasserstein distance / std | ≥ 0.1 |
| categorical (or numeric with ≤ 5 values) | either up to 1,000 | chi-square | p-value < 0.05 |
| categorical (or numeric with ≤ 5 values) | both over 1,000 | Jensen-Shannon distance | ≥ 0.1 |

A fixed distance threshold flags sampling noise in a small window (on unchanged
data, 95% of 50-row windows would drift), so a small side gets a test instead.

``method=`` forces one test for every column (or a dict, per column); ``psi``
(population stability index, drift when ≥ 0.1) is available for both kinds.
``thresholds=`` changes the thresholds by test name. The dataset drifts when the
share of drifted columns reaches ``drift_share`` (0.5).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument
from mloop.monitoring import stattests
from mloop.monitoring.reference import (
    CATEGORICAL,
    NUMERIC,
    SMALL,
    ColumnReference,
    Reference,
    build_reference,
    category_counts,
    is_numeric,
)

KS = "ks"
WASSERSTEIN = "wasserstein"
CHI_SQUARE = "chisquare"
JENSEN_SHANNON = "jensenshannon"
PSI = "psi"
TESTS = (KS, WASSERSTEIN, CHI_SQUARE, JENSEN_SHANNON, PSI)
P_VALUE_TESTS = (KS, CHI_SQUARE)
THRESHOLDS = {KS: 0.05, CHI_SQUARE: 0.05, WASSERSTEIN: 0.1, JENSEN_SHANNON: 0.1, PSI: 0.1}
DRIFT_SHARE = 0.5
SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """One column's verdict: the test, its statistic (and p-value), the threshold."""

    column: str
    kind: str
    test: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    reference_rows: int
    current_rows: int
    current_nulls: int
    note: str = ""

    @property
    def score(self) -> float:
        """Larger is more drift, comparable across columns of one test kind: the
        statistic for distances, 1 - p for tests."""
        if self.statistic is None:
            return 0.0
        if self.test in P_VALUE_TESTS:
            return 1.0 - (self.p_value if self.p_value is not None else 1.0)
        return float(self.statistic)


@dataclass(frozen=True, slots=True)
class DriftResult:
    features: tuple[FeatureDrift, ...]
    rows: int
    drift_share: float
    """The share of drifted columns at which the dataset counts as drifted."""

    @property
    def drifted_features(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.drifted]

    @property
    def tested(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.test != SKIPPED]

    @property
    def share(self) -> float:
        tested = self.tested
        return len(self.drifted_features) / len(tested) if tested else 0.0

    @property
    def drifted(self) -> bool:
        return bool(self.tested) and self.share >= self.drift_share

    def summary(self) -> str:
        names = ", ".join(f.column for f in sorted(self.drifted_features, key=lambda f: -f.score))
        verdict = "drift" if self.drifted else "no dataset drift"
        detail = f": {names}" if names else ""
        return (
            f"{verdict}: {len(self.drifted_features)} of {len(self.tested)} columns drifted "
            f"({self.share:.0%}, threshold {self.drift_share:.0%}) over {self.rows:,} rows{detail}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "share": self.share,
            "drift_share": self.drift_share,
            "rows": self.rows,
            "features": [_plain(asdict(f)) for f in self.features],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftResult:
        features = tuple(FeatureDrift(**_unplain(item)) for item in data["features"])
        return cls(features, int(data["rows"]), float(data["drift_share"]))


def detect(
    reference: Reference | pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    method: str | Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = DRIFT_SHARE,
) -> DriftResult:
    """Compare ``current`` with ``reference`` (stored statistics or a DataFrame)."""
    limits = thresholds_for(thresholds)
    if not 0 < drift_share <= 1:
        raise InvalidArgument(f"drift_share is a share of columns in (0, 1], got {drift_share}")
    if not isinstance(current, pd.DataFrame):
        raise InvalidArgument(f"the current data is a DataFrame, got {type(current).__name__}")
    if len(current) == 0:
        raise InvalidArgument("the current window has no rows: there is nothing to compare")
    if isinstance(reference, pd.DataFrame):
        reference = build_reference(reference, list(columns) if columns else None)
    names = list(columns) if columns else reference.names
    _check_columns(reference, current, names)
    small = len(current) <= SMALL
    tests = {name: choose_test(reference.column(name), method, name, small) for name in names}
    work = [(reference.column(name), current[name], tests[name]) for name in names]
    workers = min(len(work), os.cpu_count() or 1)
    with ThreadPoolExecutor(max(workers, 1)) as pool:
        features = tuple(pool.map(lambda item: _feature(item[0], item[1], item[2], limits), work))
    return DriftResult(features, len(current), drift_share)


def thresholds_for(given: Mapping[str, float] | None) -> dict[str, float]:
    limits = dict(THRESHOLDS)
    for name, value in (given or {}).items():
        if name not in THRESHOLDS:
            raise InvalidArgument(f"unknown test {name!r} in thresholds: use {', '.join(TESTS)}")
        if not isinstance(value, int | float) or not 0 < value < float("inf"):
            raise InvalidArgument(f"the threshold of {name} must be a positive number")
        limits[name] = float(value)
    return limits


def _check_columns(reference: Reference, current: pd.DataFrame, names: list[str]) -> None:
    known = set(reference.names)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidArgument(
            f"the reference has no column {unknown[0]!r} (it has: {', '.join(reference.names)})"
        )
    missing = [name for name in names if name not in current.columns]
    if missing:
        raise InvalidArgument(
            f"the current data has no column {', '.join(map(repr, missing))}: it must have "
            f"the reference's columns ({', '.join(names)})"
        )


def choose_test(
    column: ColumnReference,
    method: str | Mapping[str, str] | None,
    name: str,
    small_window: bool = False,
) -> str:
    chosen = method.get(name) if isinstance(method, Mapping) else method
    if chosen is None:
        small = column.small or small_window
        if column.kind == NUMERIC:
            return KS if small else WASSERSTEIN
        return CHI_SQUARE if small else JENSEN_SHANNON
    if chosen not in TESTS:
        raise InvalidArgument(f"unknown drift test {chosen!r}: use one of {', '.join(TESTS)}")
    if column.kind == NUMERIC and chosen in (CHI_SQUARE, JENSEN_SHANNON):
        raise InvalidArgument(f"column {name!r} is numeric: {chosen} compares categories")
    if column.kind == CATEGORICAL and chosen in (KS, WASSERSTEIN):
        raise InvalidArgument(f"column {name!r} is categorical: {chosen} compares numbers")
    return chosen


def _feature(
    column: ColumnReference, values: pd.Series, test: str, limits: dict[str, float]
) -> FeatureDrift:
    nulls = int(values.isna().sum())
    present = values.dropna()
    threshold = limits[test]

    def skipped(note: str) -> FeatureDrift:
        return FeatureDrift(
            column.name,
            column.kind,
            SKIPPED,
            None,
            None,
            threshold,
            False,
            column.rows,
            len(present),
            nulls,
            note,
        )

    if column.rows == 0:
        return skipped("the reference has no values in this column")
    if len(present) == 0:
        return skipped("the current window has no values in this column")
    if column.kind == NUMERIC:
        if not is_numeric(values):
            return skipped(f"expected numbers, got {values.dtype} values")
        data = np.asarray(present, dtype=np.float64)
        data = data[np.isfinite(data)]
        if len(data) == 0:
            return skipped("the current window has no finite values in this column")
        statistic, p_value = _numeric(column, data, test)
    else:
        statistic, p_value = _categorical(column, present, test)
    if test in P_VALUE_TESTS:
        drifted = p_value is not None and p_value < threshold
    else:
        drifted = statistic >= threshold
    return FeatureDrift(
        column.name,
        column.kind,
        test,
        statistic,
        p_value,
        threshold,
        bool(drifted),
        column.rows,
        len(present),
        nulls,
    )


def _numeric(column: ColumnReference, data: np.ndarray, test: str) -> tuple[float, float | None]:
    assert column.values is not None
    if test == KS:
        return stattests.ks(column.values, data)
    if test == PSI:
        return stattests.psi_numeric(column.values, data), None
    data.sort()
    return stattests.wasserstein_normed(column.values, column.std, data), None


def _categorical(
    column: ColumnReference, values: pd.Series, test: str
) -> tuple[float, float | None]:
    current = category_counts(values)
    keys = list(dict.fromkeys([*column.counts, *current]))
    ref = np.array([column.counts.get(k, 0) for k in keys], dtype=np.float64)
    cur = np.array([current.get(k, 0) for k in keys], dtype=np.float64)
    if test == CHI_SQUARE:
        return stattests.chi_square(ref, cur)
    if test == PSI:
        return stattests.psi(ref, cur), None
    return stattests.jensen_shannon(ref, cur), None


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (
            None
            if isinstance(v, float) and not np.isfinite(v) and k == "p_value"
            else ("inf" if isinstance(v, float) and np.isinf(v) else v)
        )
        for k, v in item.items()
    }


def _unplain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (float("inf") if v == "inf" else v) for k, v in item.items()}
