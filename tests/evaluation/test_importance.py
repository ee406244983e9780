"""Permutation importance for any predictor, and contributions where the flavor has them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.adapters import EstimatorPredictor, FixedPredictor
from evaluation.conftest import Fitted
from mloop.errors import InvalidArgument
from mloop.evaluation import Contributions, Importance, contributions, permutation_importance


@pytest.fixture(scope="module")
def sample(employment: Fitted) -> tuple[pd.DataFrame, np.ndarray]:
    """2,000 evaluation rows, with a column no model reads."""
    frame = employment.test.iloc[:2000].drop(columns=[employment.target])
    frame = frame.assign(noise=np.random.default_rng(1).normal(size=len(frame)))
    return frame, employment.test[employment.target].to_numpy()[:2000]


class Counting(EstimatorPredictor):
    """Records the row count of every call to predict."""

    def __init__(self, inner: EstimatorPredictor) -> None:
        super().__init__(inner.estimator, inner.features)
        self.sizes: list[int] = []

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.sizes.append(len(frame))
        return super().predict(frame)


def test_the_features_a_model_relies_on_come_first(
    employment: Fitted, sample: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, y = sample
    found = permutation_importance(employment.candidate, frame, y, task="classification", seed=3)
    assert found.metric == "accuracy" and found.rows == 2000 and found.n_repeats == 5
    assert found.score == pytest.approx(np.mean(employment.candidate.predict(frame) == y))
    names = [item.feature for item in found.features]
    assert sorted(names) == sorted(frame.columns) and names[0] == "AGEP"
    assert found.features[0].mean is not None and found.features[0].mean > 0.05
    noise = next(item for item in found.features if item.feature == "noise")
    assert (noise.mean, noise.std) == (0.0, 0.0)
    means = [item.mean for item in found.features]
    assert means == sorted(means, reverse=True)  # type: ignore[type-var]
    assert Importance.from_dict(found.to_dict()) == found


def test_importance_is_seeded_and_samples_at_most_max_rows(
    employment: Fitted, sample: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, y = sample
    counting = Counting(employment.candidate)

    def run(seed: int, predictor: EstimatorPredictor = employment.candidate) -> Importance:
        return permutation_importance(
            predictor, frame, y, task="classification", n_repeats=2, max_rows=300, seed=seed
        )

    first = run(7, counting)
    assert first == run(7) and first != run(8)
    assert first.rows == 300
    # Once unshuffled, then once per column with the repeats stacked.
    assert counting.sizes == [300] + [600] * len(frame.columns)


def test_regression_importance_uses_rmse(diabetes: Fitted) -> None:
    frame = diabetes.test.drop(columns=[diabetes.target])
    y = diabetes.test[diabetes.target].to_numpy()
    found = permutation_importance(diabetes.baseline, frame, y, task="regression")
    assert found.metric == "rmse" and found.score is not None and found.score > 0
    assert found.features[0].feature in {"bmi", "s5"}
    assert found.features[0].mean is not None and found.features[0].mean > 1


def test_a_probability_metric_can_be_chosen(
    employment: Fitted, sample: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, y = sample
    found = permutation_importance(
        employment.baseline, frame, y, task="classification", metric="log_loss", n_repeats=1
    )
    assert found.metric == "log_loss" and found.features[0].mean is not None
    assert found.features[0].mean > 0


def test_undefined_scores_give_no_importance() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    without_proba = FixedPredictor(np.array([0, 1, 1]), classes=[0, 1])
    found = permutation_importance(
        without_proba,
        frame,
        np.array([0, 1, 0]),
        task="classification",
        metric="roc_auc",
        n_repeats=1,
    )
    assert found.score is None and found.features[0].mean is None


def test_bad_importance_arguments_are_refused(sample: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = sample
    model = FixedPredictor(y)
    with pytest.raises(InvalidArgument, match=r"uses one of accuracy, .*, not 'rmse'"):
        permutation_importance(model, frame, y, task="classification", metric="rmse")
    with pytest.raises(InvalidArgument, match="n_repeats and max_rows must be at least 1"):
        permutation_importance(model, frame, y, task="classification", n_repeats=0)


def test_contributions_of_lightgbm_are_summarised(
    employment: Fitted, sample: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, _ = sample
    found = contributions(employment.candidate, frame, max_rows=500, seed=2)
    assert found is not None and found.rows == 500
    names = [name for name, _ in found.mean_abs]
    assert set(names) == {*employment.features, "bias"} and names[0] == "AGEP"
    rows = np.sort(np.random.default_rng(2).choice(len(frame), size=500, replace=False))
    values = employment.candidate.contributions(frame.iloc[rows])
    assert values is not None
    assert dict(found.mean_abs) == pytest.approx(values.abs().mean().to_dict())
    assert Contributions.from_dict(found.to_dict()) == found


def test_flavors_without_contributions_give_none(
    employment: Fitted, sample: tuple[pd.DataFrame, np.ndarray]
) -> None:
    assert contributions(employment.baseline, sample[0]) is None


def test_contributions_must_have_a_row_per_input_row() -> None:
    class Broken(FixedPredictor):
        def contributions(self, frame: pd.DataFrame) -> pd.DataFrame | None:
            return pd.DataFrame({"x": [1.0]})

    with pytest.raises(InvalidArgument, match="one row per input row \\(3\\), got DataFrame of 1"):
        contributions(Broken(np.array([0, 1, 1])), pd.DataFrame({"x": [1, 2, 3]}))
