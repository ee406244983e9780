"""Per-slice metrics: one slice per category, quantile bins for numbers, tiny slices not gated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from evaluation.conftest import Fitted
from mloop.errors import InvalidArgument
from mloop.evaluation import SliceResult
from mloop.evaluation.predictor import Predictions, predict
from mloop.evaluation.slices import MIN_ROWS, MISSING, group_rows, slice_metrics


@pytest.fixture(scope="module")
def outputs(employment: Fitted) -> tuple[np.ndarray, Predictions, Predictions]:
    y = employment.test[employment.target].to_numpy()
    ours = predict(employment.candidate, employment.test, y, "classification", role="candidate")
    theirs = predict(employment.baseline, employment.test, y, "classification", role="baseline")
    return y, ours, theirs


def test_a_categorical_column_gives_one_slice_per_value(
    employment: Fitted, outputs: tuple[np.ndarray, Predictions, Predictions]
) -> None:
    y, ours, theirs = outputs
    race = employment.test["RAC1P"]
    found = slice_metrics(race, y, "classification", ours, theirs)
    counts = race.value_counts()
    assert [s.value for s in found] == [str(v) for v in race.cat.categories if counts[v] > 0]
    assert {s.value: s.rows for s in found} == {str(k): int(v) for k, v in counts.items() if v}
    for result in found:
        rows = (race == result.value).to_numpy()
        assert result.column == "RAC1P" and result.gated == (result.rows >= MIN_ROWS)
        assert result.candidate.rows == result.rows
        assert result.candidate["accuracy"] == pytest.approx(
            sk.accuracy_score(y[rows], ours.labels[rows])
        )
        assert result.baseline is not None
        assert result.baseline["recall"] == pytest.approx(
            sk.recall_score(y[rows], theirs.labels[rows], zero_division=0.0)
        )
    assert any(not result.gated for result in found)  # RAC1P has groups of a few people


def test_a_numeric_column_is_cut_at_its_quintiles(
    employment: Fitted, outputs: tuple[np.ndarray, Predictions, Predictions]
) -> None:
    y, ours, _ = outputs
    age = employment.test["AGEP"]
    found = slice_metrics(age, y, "classification", ours)
    edges = np.quantile(age, np.linspace(0, 1, 6))
    assert len(found) == 5 and sum(s.rows for s in found) == len(age)
    assert found[0].value == f"[{edges[0]:g}, {edges[1]:g})"
    assert found[-1].value == f"[{edges[4]:g}, {edges[5]:g}]"
    first = (age < edges[1]).to_numpy()
    assert found[0].rows == first.sum()
    assert found[0].candidate["f1"] == pytest.approx(sk.f1_score(y[first], ours.labels[first]))
    assert all(result.baseline is None for result in found)


def test_few_numeric_values_are_categories_and_missing_values_a_slice() -> None:
    labels, codes = group_rows(pd.Series([2.0, 1.0, np.nan, 2.0, 1.0]))
    assert labels == ["1.0", "2.0", MISSING]
    assert codes.tolist() == [1, 0, 2, 1, 0]
    many = pd.Series([*range(20), None], dtype="float64")
    bins, codes = group_rows(many)
    assert bins[-1] == MISSING and codes[-1] == len(bins) - 1 and len(bins) == 6
    text = pd.Series(["b", None, "a"])
    assert group_rows(text)[0] == ["a", "b", MISSING]


def test_tied_quantiles_merge_into_fewer_bins() -> None:
    values = pd.Series(np.r_[np.zeros(90), np.arange(1, 12)])
    labels, codes = group_rows(values)
    assert len(labels) < 5 and np.bincount(codes).sum() == len(values)


def test_slice_results_read_back(
    employment: Fitted, outputs: tuple[np.ndarray, Predictions, Predictions]
) -> None:
    y, ours, theirs = outputs
    for result in slice_metrics(employment.test["SEX"], y, "classification", ours, theirs):
        assert SliceResult.from_dict(result.to_dict()) == result


def test_values_and_targets_must_align(
    outputs: tuple[np.ndarray, Predictions, Predictions],
) -> None:
    y, ours, _ = outputs
    with pytest.raises(InvalidArgument, match="column 'x' has 3 values for 8000 targets"):
        slice_metrics(pd.Series([1, 2, 3], name="x"), y, "classification", ours)
