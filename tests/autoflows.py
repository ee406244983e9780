"""The retraining pipeline the automation tests run: reads a dataset version, fits."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

import mloop

FEATURES = ["mean radius", "mean texture", "mean smoothness", "worst area"]


@mloop.step
def load(data: str) -> pd.DataFrame:
    frame = mloop.data.get(data)
    assert isinstance(frame, pd.DataFrame)
    return frame


class Failing:
    """A model whose every prediction fails (say, a feature service it calls is down)."""

    classes = (0, 1)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("the feature service is down")


@mloop.step
def fit(frame: pd.DataFrame, broken: bool, failing: bool, sleep: float) -> object:
    time.sleep(sleep)  # a training that takes a while
    if failing:
        return Failing()
    X, y = frame[FEATURES], frame["target"]
    if broken:  # always answers the rarer class: far worse than any real model
        rare = int(y.value_counts().idxmin())
        return DummyClassifier(strategy="constant", constant=rare).fit(X, y)
    return LogisticRegression(max_iter=5000).fit(X, y)


@mloop.pipeline
def retrain(data: str, broken: bool = False, failing: bool = False, sleep: float = 0.0):
    return fit(load(data), broken, failing, sleep)


def cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    return frame[[*FEATURES, "target"]].sample(frac=1.0, random_state=0).reset_index(drop=True)


def noise(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A new version of the data: the same rows with a little noise."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out[FEATURES] = out[FEATURES] * rng.normal(1.0, 0.01, size=(len(out), len(FEATURES)))
    return out
