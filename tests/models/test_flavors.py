"""Each flavor round trip: logged, loaded, and predicting what the raw model predicts."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_diabetes, load_iris
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mloop.errors import InvalidArgument
from mloop.models import LoadedModel, flavors, load, log_model
from mloop.tracking.client import Client

Data = tuple[pd.DataFrame, pd.Series]


def roundtrip(client: Client, run_id: str, model: Any, example: Any, **kw: Any) -> LoadedModel:
    info = log_model(client, run_id, model, input_example=example, **kw)
    return load(info.uri, client=client)


# -- scikit-learn --------------------------------------------------------------------------------
def test_sklearn_pipeline_on_breast_cancer(client: Client, run_id: str, cancer: Data) -> None:
    X, y = cancer
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    loaded = roundtrip(client, run_id, model, X.head())
    assert loaded.flavor == "sklearn"
    assert loaded.classes == [0, 1] and loaded.has_proba
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.contributions(X.head()) is None
    assert loaded.info.options["types"] == []  # nothing beyond skops's trusted list


def test_sklearn_boosting_on_acs_categoricals(
    client: Client, run_id: str, acs: Data, acs_new: pd.DataFrame, hgb: Any
) -> None:
    loaded = roundtrip(client, run_id, hgb, acs[0].head(20))
    assert (
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
        in (loaded.info.options["types"])
    )
    np.testing.assert_array_equal(loaded.predict(acs_new), hgb.predict(acs_new))
    np.testing.assert_allclose(loaded.predict_proba(acs_new), hgb.predict_proba(acs_new))


def test_sklearn_regressor_fitted_on_arrays(client: Client, run_id: str) -> None:
    X, y = load_diabetes(return_X_y=True)
    model = Ridge().fit(X, y)
    loaded = roundtrip(client, run_id, model, X[:5])  # no feature names: given arrays
    frame = pd.DataFrame(X[:50])
    np.testing.assert_allclose(loaded.predict(frame), model.predict(X[:50]))
    assert loaded.classes is None and not loaded.has_proba
    with pytest.raises(InvalidArgument, match="gives no probabilities"):
        loaded.predict_proba(frame)


class Clip(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A transformer of the user's own: skops does not trust it by default."""

    def fit(self, X: Any, y: Any = None) -> Clip:
        return self

    def transform(self, X: Any) -> Any:
        return np.clip(X, -5, 5)


def test_a_type_nobody_trusted_is_refused_until_the_caller_trusts_it(
    client: Client, run_id: str, cancer: Data
) -> None:
    X, y = cancer
    model = make_pipeline(StandardScaler(), Clip(), LogisticRegression(max_iter=1000)).fit(X, y)
    info = log_model(client, run_id, model, input_example=X.head())
    name = f"{Clip.__module__}.Clip"
    with pytest.raises(InvalidArgument) as error:
        load(info.uri, client=client)
    assert name in str(error.value) and "trusted_types" in str(error.value)
    loaded = load(info.uri, client=client, trusted_types=[name])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_unfitted_and_predictless_estimators_are_refused(
    client: Client, run_id: str, cancer: Data
) -> None:
    with pytest.raises(InvalidArgument, match="LogisticRegression is not fitted"):
        log_model(client, run_id, LogisticRegression())
    with pytest.raises(InvalidArgument, match="PCA has no predict method"):
        log_model(client, run_id, PCA(2).fit(cancer[0]))
    assert list(client.blobs.iter_digests()) == []


# -- LightGBM ----------------------------------------------------------------------------------
def test_lightgbm_classifier_on_acs(
    client: Client, run_id: str, acs: Data, acs_new: pd.DataFrame, lgbm: Any
) -> None:
    loaded = roundtrip(client, run_id, lgbm, acs[0].head(20))
    assert loaded.flavor == "lightgbm" and loaded.classes == [0, 1]
    assert (loaded.path / "model" / "model.txt").read_text().startswith("tree")
    np.testing.assert_array_equal(loaded.predict(acs_new), lgbm.predict(acs_new))
    np.testing.assert_allclose(loaded.predict_proba(acs_new), lgbm.predict_proba(acs_new))


def test_lightgbm_contributions_add_up_to_the_raw_score(
    client: Client, run_id: str, acs: Data, acs_new: pd.DataFrame, lgbm: Any
) -> None:
    loaded = roundtrip(client, run_id, lgbm, acs[0].head(20))
    rows = acs_new.head(100)
    found = loaded.contributions(rows)
    assert found is not None
    assert list(found.columns) == list(acs[0].columns)
    assert found.index.equals(rows.index)
    bias = lgbm.booster_.predict(rows, pred_contrib=True)[:, -1]
    np.testing.assert_allclose(found.sum(axis=1) + bias, lgbm.predict(rows, raw_score=True))


def test_lightgbm_regressor_and_text_labels(client: Client, run_id: str, cancer: Data) -> None:
    X, y = cancer
    regressor = lgb.LGBMRegressor(n_estimators=20, verbose=-1).fit(X, X["mean area"])
    loaded = roundtrip(client, run_id, regressor, X.head())
    np.testing.assert_allclose(loaded.predict(X), regressor.predict(X))
    assert loaded.classes is None and not loaded.has_proba
    labels = y.map({0: "malignant", 1: "benign"})
    classifier = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, labels)
    loaded = roundtrip(client, run_id, classifier, X.head())
    assert loaded.classes == ["benign", "malignant"]
    np.testing.assert_array_equal(loaded.predict(X), classifier.predict(X))


def test_a_multiclass_booster(client: Client, run_id: str) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1},
        lgb.Dataset(X, y),
        num_boost_round=10,
    )
    loaded = roundtrip(client, run_id, booster, X.head())
    assert loaded.classes == [0, 1, 2]
    proba = booster.predict(X)
    np.testing.assert_allclose(loaded.predict_proba(X), proba)
    np.testing.assert_array_equal(loaded.predict(X), proba.argmax(axis=1))
    found = loaded.contributions(X.head(10))
    assert found is not None and found.shape == (10, 4)


# -- Python models -------------------------------------------------------------------------------
class Threshold:
    """A user's model: reads its cut-off from a logged file, predicts labels and probabilities."""

    classes: ClassVar[list[str]] = ["low", "high"]

    def __init__(self, column: str) -> None:
        self.column = column
        self.cut = 0.0

    def load_context(self, context: Any) -> None:
        self.cut = float(context.artifacts["cut"].read_text())

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.where(frame[self.column] > self.cut, "high", "low")

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        high = (frame[self.column] > self.cut).to_numpy(dtype=float)
        return np.column_stack([1 - high, high])


def double(frame: pd.DataFrame) -> pd.Series:
    return frame["x"] * 2


def test_python_model_with_an_artifact(
    client: Client, run_id: str, cancer: Data, tmp_path: Path
) -> None:
    X = cancer[0]
    (tmp_path / "cut.txt").write_text("600")
    loaded = roundtrip(
        client, run_id, Threshold("mean area"), X.head(), artifacts={"cut": tmp_path / "cut.txt"}
    )
    assert loaded.flavor == "python" and loaded.classes == ["low", "high"]
    expected = np.where(X["mean area"] > 600, "high", "low")
    np.testing.assert_array_equal(loaded.predict(X), expected)
    assert loaded.predict_proba(X)[:, 1].sum() == (expected == "high").sum()
    assert loaded.contributions(X) is None


def test_a_function_is_a_model(client: Client, run_id: str) -> None:
    loaded = roundtrip(client, run_id, double, pd.DataFrame({"x": [1.0, 2.0]}))
    np.testing.assert_array_equal(loaded.predict(pd.DataFrame({"x": [3, 4]})), [6.0, 8.0])
    assert not loaded.has_proba


def test_a_model_defined_where_it_cannot_be_imported_is_refused(
    client: Client, run_id: str
) -> None:
    script_class = type("Scorer", (Threshold,), {"__module__": "__main__"})
    with pytest.raises(InvalidArgument, match="defined in the script being run"):
        log_model(client, run_id, script_class("x"))

    def local(frame: pd.DataFrame) -> pd.Series:
        return frame["x"]

    with pytest.raises(InvalidArgument, match="defined inside a function"):
        log_model(client, run_id, local)
    assert list(client.blobs.iter_digests()) == []


def test_a_flavor_can_be_forced(client: Client, run_id: str, cancer: Data) -> None:
    X, y = cancer
    model = LogisticRegression(max_iter=3000).fit(X, y)
    loaded = roundtrip(client, run_id, model, X.head(), flavor="python")
    assert loaded.flavor == "python"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # the pickle needs scikit-learn's code wherever it is loaded: pinned with it
    assert f"scikit-learn=={metadata.version('scikit-learn')}" in loaded.requirements
    with pytest.raises(InvalidArgument, match="flavor 'lightgbm' cannot package"):
        log_model(client, run_id, model, flavor="lightgbm")


def test_an_unsupported_object_lists_the_flavors(client: Client, run_id: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        log_model(client, run_id, {"weights": [1, 2]})
    message = str(error.value)
    assert "cannot package a builtins.dict" in message
    for name in flavors.names():
        assert f"{name}:" in message
    assert list(client.blobs.iter_digests()) == []
    assert client.list_artifacts(run_id) == []


def test_lightgbm_is_tried_before_scikit_learn() -> None:
    assert flavors.names() == ["lightgbm", "sklearn", "python"]
    assert flavors.flavor_for(lgb.LGBMClassifier()).name == "lightgbm"
    assert flavors.flavor_for(LogisticRegression()).name == "sklearn"


# -- signatures against the fitted columns ---------------------------------------------------------
def test_a_signature_is_put_in_the_order_the_model_was_fitted_on(
    client: Client, run_id: str, acs: Data, lgbm: Any
) -> None:
    X = acs[0].head(50)
    shuffled = X[list(reversed(X.columns))]
    info = log_model(client, run_id, lgbm, input_example=shuffled)
    assert info.signature is not None and info.signature.input_names == list(X.columns)
    # LightGBM takes columns by position: in the wrong order it would predict garbage
    np.testing.assert_array_equal(load(info.uri, client=client).predict(shuffled), lgbm.predict(X))


def test_a_signature_that_is_not_the_models_columns_is_refused(
    client: Client, run_id: str, cancer: Data
) -> None:
    X, y = cancer
    model = LogisticRegression(max_iter=3000).fit(X, y)
    wrong = X.drop(columns="mean area").assign(id=1).head()
    with pytest.raises(InvalidArgument, match=r"lacks 'mean area'; .* not fitted on 'id'"):
        log_model(client, run_id, model, input_example=wrong)
    assert list(client.blobs.iter_digests()) == []


# -- a flavor of one's own ---------------------------------------------------------------------
class WeightsFlavor:
    """A plug-in flavor: a dict of column weights, saved as JSON, predicting a weighted sum."""

    name = "weights"
    description = "a dict of column weights"

    def matches(self, model: object) -> bool:
        return isinstance(model, dict) and "weights" in model

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        (folder / "weights.json").write_text(json.dumps(model["weights"]))
        return {"file": "weights.json"}

    def load(self, folder: Path, options: Any, how: Any) -> Any:
        weights = json.loads((folder / options["file"]).read_text())
        return WeightsPredictor(weights)

    def requirements(self) -> list[str]:
        return []

    def input_order(self, model: Any, names: Any) -> list[str]:
        return list(names)


class WeightsPredictor:
    classes = None
    has_proba = False

    def __init__(self, weights: dict[str, float]) -> None:
        self.weights = weights

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.sum([frame[name].to_numpy() * w for name, w in self.weights.items()], axis=0)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        raise InvalidArgument("no probabilities")

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        return None


WEIGHTS = WeightsFlavor()


def test_a_registered_flavor_packages_its_models(
    client: Client, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flavors, "_REGISTRY", dict(flavors._REGISTRY))
    monkeypatch.setattr(flavors, "_loaded", {})
    flavors.register("weights", f"{__name__}:WEIGHTS")
    assert flavors.names() == ["lightgbm", "sklearn", "weights", "python"]
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [10.0, 20.0]})
    loaded = roundtrip(client, run_id, {"weights": {"a": 1.0, "b": 0.5}}, frame)
    assert loaded.flavor == "weights"
    np.testing.assert_array_equal(loaded.predict(frame), [6.0, 12.0])
    flavors.register("broken", "no_such_module_here:FLAVOR", before="lightgbm")
    with pytest.raises(InvalidArgument, match=r"flavor 'broken' .* cannot be loaded"):
        flavors.flavor_for(object())


# -- predictions and probabilities at once ---------------------------------------------------
def test_predict_both_gives_what_the_two_calls_give(
    client: Client, run_id: str, cancer: Data, acs_new: pd.DataFrame, lgbm: Any
) -> None:
    from sklearn.ensemble import GradientBoostingClassifier, VotingClassifier
    from sklearn.neighbors import KNeighborsClassifier

    X, y = cancer
    iris, species = load_iris(return_X_y=True, as_frame=True)
    cases = [
        (GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y), X),
        (LogisticRegression(max_iter=3000).fit(iris, species), iris),
        (KNeighborsClassifier(weights="distance").fit(iris, species), iris),
        (make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), X),
        (lgbm, acs_new.head(300)),
        (  # its members were fitted on the frame: it keeps the frame (no warning)
            VotingClassifier(
                [("knn", KNeighborsClassifier()), ("gb", GradientBoostingClassifier())],
                voting="soft",
            ).fit(X, y),
            X,
        ),
    ]
    for model, frame in cases:
        loaded = roundtrip(client, run_id, model, frame.head())
        for rows in (frame.head(1), frame):  # the first call also decides the array path
            predictions, proba = loaded.predictor.predict_both(rows)
            np.testing.assert_array_equal(predictions, model.predict(rows))
            np.testing.assert_allclose(proba, model.predict_proba(rows), rtol=1e-12)


def test_tied_probabilities_are_decided_by_the_models_predict(
    client: Client, run_id: str, cancer: Data
) -> None:
    X, y = cancer
    model = LogisticRegression(max_iter=5000).fit(X, y)
    model.coef_[:] = 0.0
    model.intercept_[:] = 0.0  # every row: [0.5, 0.5]
    loaded = roundtrip(client, run_id, model, X.head())
    predictions, proba = loaded.predictor.predict_both(X.head(20))
    np.testing.assert_array_equal(predictions, model.predict(X.head(20)))
    assert (proba == 0.5).all()
