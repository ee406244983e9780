"""Standard metrics per task, checked against scikit-learn on real data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from evaluation.conftest import Fitted
from mloop.errors import InvalidArgument
from mloop.evaluation import DIRECTION, MAIN_METRIC, Metrics, Predictions, compute_metrics
from mloop.evaluation.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    classification_metrics,
    regression_metrics,
)
from mloop.evaluation.predictor import predict


def test_binary_metrics_match_scikit_learn(employment: Fitted) -> None:
    y = employment.test[employment.target].to_numpy()
    out = predict(employment.candidate, employment.test, y, "classification", role="candidate")
    assert out.proba is not None
    found = compute_metrics("classification", y, out)
    labels, positive = out.labels, out.proba[:, 1]
    assert found.rows == len(y) == 8000
    assert found.values == pytest.approx(
        {
            "accuracy": sk.accuracy_score(y, labels),
            "balanced_accuracy": sk.balanced_accuracy_score(y, labels),
            "precision": sk.precision_score(y, labels, pos_label=1),
            "recall": sk.recall_score(y, labels, pos_label=1),
            "f1": sk.f1_score(y, labels, pos_label=1),
            "roc_auc": sk.roc_auc_score(y, positive),
            "log_loss": sk.log_loss(y, out.proba),
        },
        rel=1e-12,
    )


def test_multiclass_metrics_are_macro_averages(iris: Fitted) -> None:
    y = iris.test[iris.target].to_numpy()
    out = predict(iris.candidate, iris.test, y, "classification", role="candidate")
    assert out.classes == ("setosa", "versicolor", "virginica") and out.proba is not None
    found = compute_metrics("classification", y, out).values
    expected = {
        "accuracy": sk.accuracy_score(y, out.labels),
        "balanced_accuracy": sk.balanced_accuracy_score(y, out.labels),
        "precision": sk.precision_score(y, out.labels, average="macro"),
        "recall": sk.recall_score(y, out.labels, average="macro"),
        "f1": sk.f1_score(y, out.labels, average="macro"),
        "roc_auc": sk.roc_auc_score(y, out.proba, multi_class="ovr", labels=list(out.classes)),
        "log_loss": sk.log_loss(y, out.proba, labels=list(out.classes)),
    }
    assert found == pytest.approx(expected, rel=1e-12)


def test_regression_metrics_match_scikit_learn(diabetes: Fitted) -> None:
    y = diabetes.test[diabetes.target].to_numpy()
    out = predict(diabetes.candidate, diabetes.test, y, "regression", role="candidate")
    found = compute_metrics("regression", y, out)
    assert found.values == pytest.approx(
        {
            "rmse": sk.root_mean_squared_error(y, out.labels),
            "mae": sk.mean_absolute_error(y, out.labels),
            "r2": sk.r2_score(y, out.labels),
            "mape": sk.mean_absolute_percentage_error(y, out.labels),
        },
        rel=1e-12,
    )
    assert out.proba is None and out.classes is None


def test_one_class_rows_leave_roc_auc_undefined_without_a_warning() -> None:
    y = np.array([1, 1, 1, 1])
    proba = np.array([[0.2, 0.8], [0.6, 0.4], [0.1, 0.9], [0.3, 0.7]])
    found = classification_metrics(y, np.array([1, 0, 1, 1]), proba, (0, 1))
    assert found["roc_auc"] is None
    assert found["accuracy"] == 0.75 and found["balanced_accuracy"] == 0.75
    assert found["log_loss"] == pytest.approx(sk.log_loss(y, proba, labels=[0, 1]))


def test_nothing_predicted_positive_gives_zero_precision() -> None:
    found = classification_metrics(np.array([0, 1, 0]), np.array([0, 0, 0]), None, (0, 1))
    assert found["precision"] == 0.0 and found["recall"] == 0.0 and found["f1"] == 0.0
    assert found["roc_auc"] is None and found["log_loss"] is None


def test_positive_class_is_the_last_class() -> None:
    y, labels = np.array(["no", "yes", "yes", "no"]), np.array(["yes", "yes", "no", "no"])
    found = classification_metrics(y, labels, None, ("no", "yes"))
    assert found["precision"] == sk.precision_score(y, labels, pos_label="yes")


def test_multiclass_roc_auc_skips_classes_absent_from_the_rows() -> None:
    y = np.array(["a", "a", "b", "b"])
    proba = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3]])
    found = classification_metrics(y, np.array(["a", "b", "b", "b"]), proba, ("a", "b", "c"))
    areas = [sk.roc_auc_score(y == label, proba[:, i]) for i, label in enumerate("ab")]
    assert found["roc_auc"] == pytest.approx(np.mean(areas))


def test_a_target_label_outside_the_classes_leaves_log_loss_undefined() -> None:
    proba = np.array([[0.5, 0.5], [0.2, 0.8]])
    found = classification_metrics(np.array([0, 2]), np.array([0, 1]), proba, (0, 1))
    assert found["log_loss"] is None and found["accuracy"] == 0.5


def test_regression_edge_cases_give_none() -> None:
    constant = regression_metrics(np.array([3.0, 3.0, 3.0]), np.array([2.0, 3.0, 4.0]))
    assert constant["r2"] is None and constant["rmse"] == pytest.approx(np.sqrt(2 / 3))
    zeros = regression_metrics(np.array([0.0, 0.0]), np.array([1.0, 2.0]))
    assert zeros["mape"] is None
    some_zeros = regression_metrics(np.array([0.0, 2.0, 4.0]), np.array([1.0, 1.0, 5.0]))
    assert some_zeros["mape"] == pytest.approx((0.5 + 0.25) / 2)
    broken = regression_metrics(np.array([1.0, 2.0]), np.array([np.nan, 2.0]))
    assert broken == dict.fromkeys(REGRESSION_METRICS)


def test_no_rows_give_no_values() -> None:
    empty = Predictions(np.array([], dtype=int), np.empty((0, 2)), (0, 1))
    assert compute_metrics("classification", np.array([], dtype=int), empty) == Metrics(
        0, dict.fromkeys(CLASSIFICATION_METRICS)
    )
    assert regression_metrics(np.array([]), np.array([])) == dict.fromkeys(REGRESSION_METRICS)


def test_every_metric_has_a_direction_and_each_task_a_main_metric() -> None:
    assert set(DIRECTION) == {*CLASSIFICATION_METRICS, *REGRESSION_METRICS}
    assert DIRECTION["log_loss"] == DIRECTION["rmse"] == "lower"
    assert DIRECTION["roc_auc"] == DIRECTION["r2"] == "higher"
    assert MAIN_METRIC == {"classification": "accuracy", "regression": "rmse"}


def test_metrics_read_back_and_name_what_is_missing() -> None:
    metrics = Metrics(10, {"accuracy": 0.5, "roc_auc": None})
    assert Metrics.from_dict(metrics.to_dict()) == metrics
    assert metrics.to_dict() == {"rows": 10, "accuracy": 0.5, "roc_auc": None}
    with pytest.raises(InvalidArgument, match="no metric 'rmse'; these were computed: accuracy"):
        metrics["rmse"]
    with pytest.raises(InvalidArgument, match="integer rows"):
        Metrics.from_dict({"accuracy": 0.5})
    with pytest.raises(InvalidArgument, match="'accuracy' must be a number or null"):
        Metrics.from_dict({"rows": 1, "accuracy": "high"})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1), st.floats(0, 1)), min_size=2),
    st.randoms(use_true_random=False),
)
def test_classification_metrics_ignore_row_order(
    rows: list[tuple[int, int, float]], random: object
) -> None:
    y, labels, score = (np.array(column) for column in zip(*rows, strict=True))
    proba = np.column_stack([1 - score, score])
    order = np.arange(len(rows))
    random.shuffle(order)  # type: ignore[attr-defined]
    before = classification_metrics(y, labels, proba, (0, 1))
    after = classification_metrics(y[order], labels[order], proba[order], (0, 1))
    assert_same(after, before)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=1),
    st.permutations(range(50)),
)
def test_regression_metrics_ignore_row_order(
    rows: list[tuple[float, float]], shuffled: list[int]
) -> None:
    y, predicted = (np.array(column) for column in zip(*rows, strict=True))
    order = np.array([i for i in shuffled if i < len(rows)] + list(range(50, len(rows))))
    assert_same(regression_metrics(y[order], predicted[order]), regression_metrics(y, predicted))


def assert_same(found: dict[str, float | None], expected: dict[str, float | None]) -> None:
    """Equal keys, the same undefined values, the rest equal up to rounding."""
    assert found.keys() == expected.keys()
    for name, value in expected.items():
        assert (value is None) == (found[name] is None), name
        if value is not None:
            assert found[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
