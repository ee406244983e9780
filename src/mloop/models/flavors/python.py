"""The ``python`` flavor: any object with ``predict(frame)``, or a plain function.

    class Scorer:
        def load_context(self, context):          # optional: runs once, at load
            self.vocab = context.artifacts["vocab"].read_text().split()
        def predict(self, frame):                 # required
            ...
        def predict_proba(self, frame):           # optional (set ``classes`` too)
            ...

The object is pickled, so **loading it runs code**: the class's own module is
imported and its pickling hooks run. Load such a package only when you trust
whoever logged it. The class (or function) must be importable where the model
is loaded, under the same module name: define it in a module of your project,
not in the script you run (``__main__``), and list what it needs in
``requirements=``. Extra files the model reads go in ``artifacts=``; they are
given to ``load_context`` as paths.

A classifier may say its labels with a ``classes`` (or ``classes_``) attribute;
a ``contributions(frame)`` method, if present, answers contributions.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FunctionType
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument
from mloop.models.flavors.base import LoadOptions, Predictor, class_name, json_list, no_proba, one_d

FILE = "model.pkl"


class FunctionModel:
    """A function ``f(frame) -> predictions`` as a model."""

    def __init__(self, function: Callable[[pd.DataFrame], Any]) -> None:
        self.function = function

    def predict(self, frame: pd.DataFrame) -> Any:
        return self.function(frame)


class PythonFlavor:
    name = "python"
    description = (
        "any object with a predict(DataFrame) method, or a function (pickled: loading runs code)"
    )

    def matches(self, model: object) -> bool:
        if isinstance(model, FunctionType):
            return True
        return not isinstance(model, type) and callable(getattr(model, "predict", None))

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        if isinstance(model, FunctionType):
            model = FunctionModel(model)
        _check_importable(model)
        try:
            data = pickle.dumps(model, protocol=5)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise InvalidArgument(f"cannot pickle {class_name(model)}: {exc}") from None
        (folder / FILE).write_bytes(data)
        return {
            "file": FILE,
            "class": class_name(model),
            "classes": _classes(model),
            "has_proba": callable(getattr(model, "predict_proba", None)),
        }

    def load(self, folder: Path, options: Mapping[str, Any], how: LoadOptions) -> Predictor:
        model = pickle.loads((folder / str(options.get("file", FILE))).read_bytes())
        load_context = getattr(model, "load_context", None)
        if callable(load_context):
            load_context(how.context)
        return PythonPredictor(model, options)

    def requirements(self) -> list[str]:
        return []

    def input_order(self, model: Any, names: Sequence[str]) -> list[str]:
        return list(names)


def _check_importable(model: Any) -> None:
    target = model.function if isinstance(model, FunctionModel) else type(model)
    module, name = target.__module__, target.__qualname__
    if module == "__main__" or "<locals>" in name:
        where = "in the script being run" if module == "__main__" else "inside a function"
        raise InvalidArgument(
            f"{name} is defined {where}, so it could not be imported where the model is "
            "loaded: move it to a module of your project (e.g. my_project/model.py) and import it"
        )


def _classes(model: Any) -> list[Any] | None:
    for attribute in ("classes", "classes_"):
        found = getattr(model, attribute, None)
        if found is not None and not callable(found):
            return json_list(found)
    return None


class PythonPredictor:
    """A user's Python model behind the :class:`Predictor` interface."""

    def __init__(self, model: Any, options: Mapping[str, Any]) -> None:
        self.model = model
        self.classes: list[Any] | None = options.get("classes")
        self.has_proba = bool(options.get("has_proba"))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return one_d(self.model.predict(_own(frame)))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.has_proba:
            raise no_proba(class_name(self.model))
        return np.asarray(self.model.predict_proba(_own(frame)))

    def predict_both(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        return self.predict(frame), self.predict_proba(frame) if self.has_proba else None

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        method = getattr(self.model, "contributions", None)
        if not callable(method):
            return None
        found = method(frame)
        return found if isinstance(found, pd.DataFrame) else None


def _own(frame: pd.DataFrame) -> pd.DataFrame:
    """The user's code gets a frame of its own: what it changes in place (``df["a"] *=
    100``) stays out of the caller's frame, which the prediction log keeps. Copy-on-write
    makes this a shallow copy."""
    return frame.copy(deep=False)


FLAVOR = PythonFlavor()
