"""Real data and fitted models for the evaluation suite.

Classification: the ACS employment data for Massachusetts (target ``employed``,
sensitive columns ``SEX`` and ``RAC1P``), read from the files of the nannyml
wheel, split into training and evaluation rows. Regression: scikit-learn's
diabetes data. Multiclass: iris, with its species names as labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from evaluation.adapters import EstimatorPredictor

TRAIN_ROWS = 10_000
TEST_ROWS = 8_000


@dataclass(frozen=True)
class Fitted:
    """Training and evaluation rows, the target, and models fitted on the training rows."""

    train: pd.DataFrame
    test: pd.DataFrame
    target: str
    features: list[str]
    candidate: EstimatorPredictor
    baseline: EstimatorPredictor


def employment_frame() -> pd.DataFrame:
    spec = find_spec("nannyml")
    assert spec is not None and spec.submodule_search_locations is not None
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    frame = pd.read_parquet(folder / "employment_MA_reference.pq")
    return frame.drop(columns=["id", "year", "prediction", "predicted_probability"])


@pytest.fixture(scope="session")
def employment() -> Fitted:
    """LightGBM (candidate) and logistic regression (baseline) predicting employment."""
    frame = employment_frame()
    train = frame.iloc[:TRAIN_ROWS].reset_index(drop=True)
    test = frame.iloc[TRAIN_ROWS : TRAIN_ROWS + TEST_ROWS].reset_index(drop=True)
    features = [column for column in frame.columns if column != "employed"]
    categorical = [c for c in features if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    candidate = lgb.LGBMClassifier(n_estimators=40, verbose=-1, random_state=0)
    baseline = make_pipeline(
        ColumnTransformer(
            [
                ("categories", OneHotEncoder(handle_unknown="ignore"), categorical),
                ("numbers", StandardScaler(), ["AGEP"]),
            ]
        ),
        LogisticRegression(max_iter=1000),
    )
    for model in (candidate, baseline):
        model.fit(train[features], train["employed"])
    return Fitted(
        train,
        test,
        "employed",
        features,
        EstimatorPredictor(candidate, features),
        EstimatorPredictor(baseline, features),
    )


@pytest.fixture(scope="session")
def diabetes() -> Fitted:
    """LightGBM (candidate) and ridge regression (baseline) predicting disease progression."""
    frame = load_diabetes(as_frame=True).frame
    train, test = frame.iloc[:300].reset_index(drop=True), frame.iloc[300:].reset_index(drop=True)
    features = [column for column in frame.columns if column != "target"]
    candidate = lgb.LGBMRegressor(n_estimators=60, verbose=-1, random_state=0)
    baseline = Ridge(alpha=0.1)
    for model in (candidate, baseline):
        model.fit(train[features], train["target"])
    return Fitted(
        train,
        test,
        "target",
        features,
        EstimatorPredictor(candidate, features),
        EstimatorPredictor(baseline, features),
    )


@pytest.fixture(scope="session")
def iris() -> Fitted:
    """Three species: logistic regression (candidate) and a shallow tree (baseline)."""
    data = load_iris(as_frame=True)
    frame = data.frame.copy()
    frame["target"] = np.asarray(data.target_names)[data.target]
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    train, test = frame.iloc[:90].reset_index(drop=True), frame.iloc[90:].reset_index(drop=True)
    features = [column for column in frame.columns if column != "target"]
    candidate = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    baseline = DecisionTreeClassifier(max_depth=2, random_state=0)
    for model in (candidate, baseline):
        model.fit(train[features], train["target"])
    return Fitted(
        train,
        test,
        "target",
        features,
        EstimatorPredictor(candidate, features),
        EstimatorPredictor(baseline, features),
    )
