"""What evaluation needs of a model: the :class:`Predictor` contract, and its predictions.

A loaded model of any flavor is evaluated through four members: ``predict``,
``predict_proba`` with ``classes`` and ``has_proba``, and ``contributions``.
:func:`predict` calls a predictor once on a whole table and checks what it
returned, so every later measure (overall, per slice, per group) is an index
into the same arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument

Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")


@runtime_checkable
class Predictor(Protocol):
    """A fitted model as evaluation sees it.

    ``predict`` returns one value per row (class labels for a classifier);
    ``predict_proba`` one column per class, in the order of ``classes``, and is
    only called when ``has_proba`` is true; ``classes`` is None for a regressor.
    ``contributions`` returns per-row, per-feature contributions to the
    prediction where the flavor computes them cheaply (tree SHAP values of a
    LightGBM model, say), and None otherwise.
    """

    @property
    def classes(self) -> Sequence[Any] | None: ...

    @property
    def has_proba(self) -> bool: ...

    def predict(self, frame: pd.DataFrame) -> np.ndarray: ...

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray: ...

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame | None: ...


@dataclass(frozen=True, slots=True)
class Predictions:
    """One model's outputs on a table.

    ``labels`` holds ``predict``'s values; ``proba`` the class probabilities
    (None without them or for a regressor); ``classes`` the classes of a
    classifier, the predictor's own or, when it declares none, the sorted
    labels seen in the target and the predictions (None for a regressor).
    """

    labels: np.ndarray
    proba: np.ndarray | None
    classes: tuple[Any, ...] | None

    @property
    def positive(self) -> Any:
        """The positive class of a binary classifier: the last of ``classes``."""
        if self.classes is None or len(self.classes) != 2:
            raise InvalidArgument("only a binary classifier has a positive class")
        return self.classes[-1]

    def take(self, rows: np.ndarray) -> Predictions:
        """The predictions of the rows at positions ``rows``."""
        proba = None if self.proba is None else self.proba[rows]
        return Predictions(self.labels[rows], proba, self.classes)


def predict(
    predictor: Predictor,
    frame: pd.DataFrame,
    y_true: np.ndarray,
    task: Task,
    *,
    role: str,
    proba: bool = True,
) -> Predictions:
    """Run ``predictor`` on ``frame`` and check the shapes of what it returns.

    ``role`` ("candidate", "baseline") names the model in error messages;
    ``proba=False`` skips the probabilities, when they are not needed.
    """
    labels = _one_per_row(predictor.predict(frame), len(frame), f"the {role}'s predict")
    if task == "regression":
        if labels.dtype.kind not in "biuf":
            raise InvalidArgument(
                f"the {role}'s predict returned {labels.dtype} values; "
                "a regression model must predict numbers"
            )
        return Predictions(labels.astype(np.float64, copy=False), None, None)
    _check_label_types(y_true, labels, role)
    classes = _classes(predictor, y_true, labels, role)
    probabilities = (
        _proba(predictor, frame, classes, role) if proba and predictor.has_proba else None
    )
    return Predictions(labels, probabilities, classes)


def class_labels(values: np.ndarray) -> tuple[Any, ...]:
    """The distinct labels of ``values``, sorted, as plain Python values."""
    try:
        distinct = np.unique(values)
    except TypeError as error:  # numpy cannot order, say, ints and strings together
        raise InvalidArgument(
            f"class labels of different types cannot be compared ({error}); "
            "make the target and the predictions the same type"
        ) from None
    return tuple(value.item() if isinstance(value, np.generic) else value for value in distinct)


def as_labels(values: Any) -> np.ndarray:
    """``values`` as a numpy array; an object array of numbers or booleans becomes numeric
    (scikit-learn's metrics do not read numbers in object arrays)."""
    array = np.asarray(values)
    if array.dtype == object and array.ndim == 1 and len(array):
        kind = pd.api.types.infer_dtype(array, skipna=False)
        if kind in ("integer", "floating", "boolean", "mixed-integer-float"):
            return np.asarray(array.tolist())
    return array


def _one_per_row(values: Any, rows: int, what: str) -> np.ndarray:
    array = as_labels(values)
    if array.ndim != 1 or len(array) != rows:
        raise InvalidArgument(
            f"{what} returned an array of shape {array.shape}; expected ({rows},), "
            "one value per row"
        )
    return array


def _check_label_types(y_true: np.ndarray, labels: np.ndarray, role: str) -> None:
    numeric = {side.dtype.kind in "biuf" for side in (y_true, labels) if side.dtype.kind != "O"}
    if len(numeric) > 1:
        raise InvalidArgument(
            f"the {role} predicts {labels.dtype} labels but the target holds {y_true.dtype} "
            "values; predictions and target must be labels of the same type"
        )


def _classes(
    predictor: Predictor, y_true: np.ndarray, labels: np.ndarray, role: str
) -> tuple[Any, ...]:
    declared = predictor.classes
    if declared is not None:
        if len(declared) == 0:
            raise InvalidArgument(f"the {role} declares no classes; a classifier needs them")
        return tuple(value.item() if isinstance(value, np.generic) else value for value in declared)
    if predictor.has_proba:
        raise InvalidArgument(
            f"the {role} has predict_proba but no classes: its columns cannot be matched "
            "to labels; set classes to the labels in column order"
        )
    return class_labels(np.concatenate([y_true.astype(object), labels.astype(object)]))


def _proba(
    predictor: Predictor, frame: pd.DataFrame, classes: tuple[Any, ...], role: str
) -> np.ndarray:
    proba = np.asarray(predictor.predict_proba(frame), dtype=np.float64)
    expected = (len(frame), len(classes))
    if proba.shape != expected:
        raise InvalidArgument(
            f"the {role}'s predict_proba returned shape {proba.shape}; expected {expected}, "
            "one column per class"
        )
    return proba


def json_label(value: Any) -> Any:
    """A class label as JSON holds it: numbers, text, booleans as they are, else its text."""
    if isinstance(value, np.generic):
        value = value.item()
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)
