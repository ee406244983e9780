"""The ``lightgbm`` flavor: a LightGBM Booster, or the scikit-learn style
``LGBMClassifier`` / ``LGBMRegressor``, saved in LightGBM's own text format.

The text format is data, never a pickle: loading it runs no code from the file.
It keeps the categories of pandas categorical columns, so a frame with the same
categories predicts the same. A classifier's labels (``classes_``) are kept in
the package's options; predict returns them as LGBMClassifier.predict does (the
most probable class; for two classes, the second when its probability is above
0.5). A plain Booster trained with a ``binary`` or ``multiclass`` objective is a
classifier with classes 0, 1, ...; any other Booster is a regressor whose
predict returns what ``Booster.predict`` returns.

Contributions come from ``pred_contrib=True`` (SHAP values of the trees), in raw
score units (log-odds for binary classifiers), one column per feature; the
model's expected value is left out. For more than two classes they are the
contributions to each row's predicted class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument
from mloop.models.flavors.base import (
    LoadOptions,
    Predictor,
    class_name,
    from_library,
    json_list,
    match_columns,
    no_proba,
    require,
)

FILE = "model.txt"
_CLASSIFYING = ("binary", "multiclass", "multiclassova", "softmax", "ova", "ovr")


class LightGBMFlavor:
    name = "lightgbm"
    description = "LightGBM Booster, LGBMClassifier and LGBMRegressor (LightGBM's text format)"

    def matches(self, model: object) -> bool:
        return from_library(model, "lightgbm")

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        lgb = require("lightgbm", "lightgbm", "lightgbm")
        booster = _booster(lgb, model)
        booster.save_model(str(folder / FILE))
        objective = _objective(folder / FILE)
        if isinstance(model, lgb.Booster):
            classes = _booster_classes(objective, booster.num_model_per_iteration())
        else:
            classes = json_list(getattr(model, "classes_", None))
        return {
            "file": FILE,
            "estimator": class_name(model),
            "objective": objective,
            "classes": classes,
        }

    def load(self, folder: Path, options: Mapping[str, Any], how: LoadOptions) -> Predictor:
        lgb = require("lightgbm", "lightgbm", "lightgbm")
        booster = lgb.Booster(model_file=str(folder / str(options.get("file", FILE))))
        return LightGBMPredictor(booster, options.get("classes"))

    def requirements(self) -> list[str]:
        return ["lightgbm", "scipy"]

    def input_order(self, model: Any, names: Sequence[str]) -> list[str]:
        """LightGBM predicts by position: the columns must come in the order it was fitted
        on. It writes spaces in column names as underscores, which is allowed for."""
        lgb = require("lightgbm", "lightgbm", "lightgbm")
        booster = _booster(lgb, model)
        if booster.pandas_categorical is None:  # fitted on an array: columns have no names
            return list(names)
        fitted = [str(name) for name in booster.feature_name()]
        return match_columns(fitted, names, key=lambda name: name.replace(" ", "_"))


def _booster(lgb: Any, model: Any) -> Any:
    if isinstance(model, lgb.Booster):
        return model
    if callable(getattr(model, "objective", None)):
        raise InvalidArgument(
            f"{class_name(model)} has a custom objective function, which LightGBM's model "
            "file cannot hold: log it with flavor='python'"
        )
    try:
        return model.booster_
    except (AttributeError, ValueError):
        raise InvalidArgument(
            f"{class_name(model)} is not fitted: fit it before logging it"
        ) from None


def _objective(path: Path) -> str:
    """The ``objective=`` line of a model file's header."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("objective="):
                return line.removeprefix("objective=").strip()
            if line.startswith("Tree="):
                break
    return ""


def _booster_classes(objective: str, per_iteration: int) -> list[Any] | None:
    name = objective.split(" ", 1)[0]
    if name not in _CLASSIFYING:
        return None
    return list(range(max(2, per_iteration)))


class LightGBMPredictor:
    """A LightGBM Booster behind the :class:`Predictor` interface."""

    def __init__(self, booster: Any, classes: list[Any] | None) -> None:
        self.booster = booster
        self.classes = classes
        self.has_proba = classes is not None
        self._labels = None if classes is None else np.asarray(classes)
        self._names = [str(name) for name in booster.feature_name()]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.asarray(self.booster.predict(frame))
        if self._labels is None:
            return out
        return self._labels[_winner(out)]  # type: ignore[no-any-return]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.has_proba:
            raise no_proba("this LightGBM regressor")
        out = np.asarray(self.booster.predict(frame))
        return np.column_stack([1.0 - out, out]) if out.ndim == 1 else out

    def predict_both(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        out = np.asarray(self.booster.predict(frame))
        if self._labels is None:
            return out, None
        proba = np.column_stack([1.0 - out, out]) if out.ndim == 1 else out
        return self._labels[_winner(out)], proba

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        raw = np.asarray(self.booster.predict(frame, pred_contrib=True))
        width = len(self._names) + 1
        if raw.shape[1] == width:
            values = raw[:, :-1]
        else:  # one block per class: keep each row's predicted class
            cube = raw.reshape(len(raw), -1, width)
            chosen = _winner(np.asarray(self.booster.predict(frame)))
            values = cube[np.arange(len(raw)), chosen, :-1]
        return pd.DataFrame(values, columns=self._names, index=frame.index)


def _winner(out: np.ndarray) -> np.ndarray:
    """The index of the predicted class: above 0.5 for binary output, else the largest."""
    if out.ndim == 1:
        return (out > 0.5).astype(np.intp)
    return out.argmax(axis=1)  # type: ignore[no-any-return]


FLAVOR = LightGBMFlavor()
