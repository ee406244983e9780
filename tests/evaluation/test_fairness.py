"""Group fairness against a hand computation with pandas, on the ACS employment data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.conftest import Fitted
from mloop.errors import InvalidArgument
from mloop.evaluation import FairnessMetrics, FairnessResult
from mloop.evaluation.fairness import fairness, fairness_metrics
from mloop.evaluation.predictor import predict


@pytest.fixture(scope="module")
def labelled(employment: Fitted) -> pd.DataFrame:
    """The evaluation rows with the candidate's predictions in ``predicted``."""
    frame = employment.test.copy()
    y = frame[employment.target].to_numpy()
    out = predict(employment.candidate, frame, y, "classification", role="candidate")
    frame["predicted"] = out.labels
    return frame


def by_hand(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Selection rate, TPR, FPR, accuracy and count per group, with pandas."""
    grouped = frame.assign(
        selected=frame["predicted"] == 1,
        right=frame["predicted"] == frame["employed"],
    ).groupby(column, observed=True)
    table = pd.DataFrame(
        {
            "count": grouped.size(),
            "selection_rate": grouped["selected"].mean(),
            "accuracy": grouped["right"].mean(),
            "tpr": frame[frame["employed"] == 1].groupby(column, observed=True)["predicted"].mean(),
            "fpr": frame[frame["employed"] == 0].groupby(column, observed=True)["predicted"].mean(),
        }
    )
    table.index = table.index.astype(str)
    return table


def spread(values: pd.Series) -> float:
    return float(values.max() - values.min())


@pytest.mark.parametrize("column", ["SEX", "RAC1P"])
def test_group_rates_match_a_hand_computation(labelled: pd.DataFrame, column: str) -> None:
    found = fairness_metrics(
        labelled["employed"].to_numpy(),
        labelled["predicted"].to_numpy(),
        labelled[column],
        1,
        min_group_rows=0,
    )
    expected = by_hand(labelled, column)
    assert [group.group for group in found.groups] == list(expected.index)
    for group in found.groups:
        row = expected.loc[group.group]
        assert group.count == row["count"] and group.counted
        for name in ("selection_rate", "accuracy", "tpr", "fpr"):
            value = getattr(group, name)
            assert (value is None) == pd.isna(row[name]), (group.group, name)
            if value is not None:
                assert value == pytest.approx(row[name], rel=1e-12)
    # fairlearn's definitions, over every group.
    assert found.demographic_parity_difference == pytest.approx(spread(expected.selection_rate))
    assert found.equalized_odds_difference == pytest.approx(
        max(spread(expected.tpr.dropna()), spread(expected.fpr.dropna()))
    )


def test_tiny_groups_are_reported_but_left_out_of_the_differences(labelled: pd.DataFrame) -> None:
    found = fairness_metrics(
        labelled["employed"].to_numpy(),
        labelled["predicted"].to_numpy(),
        labelled["RAC1P"],
        1,
    )
    expected = by_hand(labelled, "RAC1P")
    large = expected[expected["count"] >= 30]
    assert len(large) < len(expected) == len(found.groups)
    assert [g.group for g in found.groups if g.counted] == list(large.index)
    assert found.demographic_parity_difference == pytest.approx(spread(large.selection_rate))
    assert found.equalized_odds_difference == pytest.approx(
        max(spread(large.tpr), spread(large.fpr))
    )


def test_both_models_are_measured_with_the_candidates_positive_class(employment: Fitted) -> None:
    y = employment.test[employment.target].to_numpy()
    ours = predict(employment.candidate, employment.test, y, "classification", role="candidate")
    theirs = predict(employment.baseline, employment.test, y, "classification", role="baseline")
    result = fairness(employment.test["SEX"], y, ours, theirs)
    assert result.column == "SEX" and result.positive == 1
    assert result.baseline == fairness_metrics(y, theirs.labels, employment.test["SEX"], 1)
    assert FairnessResult.from_dict(result.to_dict()) == result


def test_multiclass_fairness_is_refused(iris: Fitted) -> None:
    y = iris.test[iris.target].to_numpy()
    out = predict(iris.candidate, iris.test, y, "classification", role="candidate")
    with pytest.raises(
        InvalidArgument, match="need binary classification, but the candidate has 3"
    ):
        fairness(iris.test["sepal length (cm)"], y, out)


def test_undefined_rates_are_none() -> None:
    found = fairness_metrics(
        np.array([1, 1, 0, 0]),
        np.array([1, 0, 1, 1]),
        pd.Series(["a", "a", "b", "b"]),
        1,
        min_group_rows=0,
    )
    a, b = found.groups
    assert (a.tpr, a.fpr, b.tpr, b.fpr) == (0.5, None, None, 1.0)
    assert found.equalized_odds_difference == 0.0  # one defined rate on each side: no spread
    assert found.demographic_parity_difference == 0.5


def test_lengths_must_agree() -> None:
    with pytest.raises(InvalidArgument, match="one of each per row"):
        fairness_metrics(np.array([1]), np.array([1, 0]), pd.Series(["a", "b"]), 1)
    with pytest.raises(InvalidArgument, match="no fairness metric 'parity'"):
        FairnessMetrics((), None, None)["parity"]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 1)), min_size=1, max_size=200),
    st.integers(0, 1),
)
def test_a_constant_predictor_has_parity(rows: list[tuple[str, int]], constant: int) -> None:
    groups, y = (np.array(column) for column in zip(*rows, strict=True))
    found = fairness_metrics(y, np.full(len(y), constant), pd.Series(groups), 1, min_group_rows=0)
    assert found.demographic_parity_difference == 0.0
    assert found.equalized_odds_difference in (0.0, None)
    assert all(group.selection_rate == constant for group in found.groups)
