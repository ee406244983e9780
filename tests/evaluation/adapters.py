"""Fitted scikit-learn and LightGBM estimators behind the evaluation Predictor contract."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class EstimatorPredictor:
    """A fitted estimator that predicts from ``features``, the columns it was trained on."""

    def __init__(self, estimator: Any, features: list[str]) -> None:
        self.estimator = estimator
        self.features = features
        self.calls = 0

    @property
    def classes(self) -> list[Any] | None:
        classes = getattr(self.estimator, "classes_", None)
        return None if classes is None else list(classes)

    @property
    def has_proba(self) -> bool:
        return hasattr(self.estimator, "predict_proba")

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        return np.asarray(self.estimator.predict(frame[self.features]))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.estimator.predict_proba(frame[self.features]))

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        if not type(self.estimator).__module__.startswith("lightgbm"):
            return None
        values = self.estimator.predict(frame[self.features], pred_contrib=True)
        if values.shape[1] != len(self.features) + 1:  # one block per class: not kept here
            return None
        return pd.DataFrame(values, columns=[*self.features, "bias"])


class FixedPredictor:
    """Predicts given labels (and probabilities), whatever the rows: for hand-made cases."""

    def __init__(
        self,
        labels: np.ndarray,
        proba: np.ndarray | None = None,
        classes: list[Any] | None = None,
    ) -> None:
        self.labels = np.asarray(labels)
        self.proba = proba
        self.classes = classes
        self.has_proba = proba is not None

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.labels[: len(frame)]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        assert self.proba is not None
        return self.proba[: len(frame)]

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        return None
