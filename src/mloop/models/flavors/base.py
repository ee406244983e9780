"""What a flavor is, and what every loaded model offers whatever its flavor.

A :class:`Flavor` knows one kind of model object: how to recognise it (without
importing its library: a look at the modules of its classes), how to write it to
a folder, how to read it back as a :class:`Predictor`, and which distributions
it needs installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument


class Predictor(Protocol):
    """One interface over every flavor (after the signature was enforced).

    ``classes`` is the list of class labels of a classifier, in the order of the
    columns of :meth:`predict_proba`, and None for other models.
    """

    classes: list[Any] | None
    has_proba: bool

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """One prediction per row, 1-D; class labels for classifiers."""
        ...

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probabilities, shape (rows, classes); InvalidArgument when the model has none."""
        ...

    def predict_both(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """``predict`` and, when the model has them, ``predict_proba`` (else None), the
        same answers as the two calls, computed once where the flavor can."""
        ...

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        """Per-feature contributions to each row's prediction where cheap, else None."""
        ...


@dataclass(frozen=True)
class ModelContext:
    """What a loaded model can use besides its own file: the package's extra files,
    by the names they were logged under (``log(..., artifacts={"vocab": "vocab.txt"})``)."""

    artifacts: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadOptions:
    """What the caller of ``load`` decided: extra types trusted for deserialisation,
    and the context handed to the model."""

    trusted_types: tuple[str, ...] = ()
    context: ModelContext = field(default_factory=ModelContext)


class Flavor(Protocol):
    name: str
    description: str
    """What it packages, for the message that lists the supported flavors."""

    def matches(self, model: object) -> bool:
        """Whether ``model`` is this flavor's kind of object; imports nothing heavy."""
        ...

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        """Write ``model`` into the empty ``folder``; return the options ``load`` needs
        (JSON-able: they go into the package's manifest)."""
        ...

    def load(self, folder: Path, options: Mapping[str, Any], how: LoadOptions) -> Predictor:
        """Read back what :meth:`save` wrote to ``folder``."""
        ...

    def requirements(self) -> list[str]:
        """The distributions (PyPI names) the model needs, to be pinned at their versions."""
        ...

    def input_order(self, model: Any, names: Sequence[str]) -> list[str]:
        """The signature's column ``names`` in the order the model was fitted on them
        (as given when the model does not know its columns); InvalidArgument when they
        are not the model's columns (see :func:`match_columns`)."""
        ...


def match_columns(
    fitted: Sequence[str], names: Sequence[str], key: Callable[[str], str] = str
) -> list[str]:
    """``names`` in the order of ``fitted`` (compared through ``key``), or InvalidArgument
    naming the columns the signature lacks and those the model was not fitted on."""
    by_key = {key(name): name for name in names}
    wanted = [key(name) for name in fitted]
    missing = [name for name, k in zip(fitted, wanted, strict=True) if k not in by_key]
    unused = [name for k, name in by_key.items() if k not in set(wanted)]
    if not missing and not unused:
        return [by_key[k] for k in wanted]
    parts = []
    if missing:
        parts.append(f"it lacks {', '.join(map(repr, missing))}")
    if unused:
        parts.append(f"the model was not fitted on {', '.join(map(repr, unused))}")
    raise InvalidArgument(
        f"the signature does not match the columns the model was fitted on: "
        f"{'; '.join(parts)}. Give the training columns (input_example=X_train.head())"
    )


def from_library(model: object, library: str) -> bool:
    """Whether ``model``'s class, or a base class, comes from the top-level package
    ``library`` (``sklearn``, ``lightgbm``): no import of the library needed."""
    return any(
        (getattr(cls, "__module__", None) or "").partition(".")[0] == library
        for cls in type(model).__mro__
    )


def class_name(model: object) -> str:
    kind = type(model)
    return f"{kind.__module__}.{kind.__qualname__}"


def require(module: str, distribution: str, extra: str | None = None) -> ModuleType:
    """Import ``module``, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        how = f"pip install 'mloop[{extra}]'" if extra else f"pip install {distribution}"
        raise InvalidArgument(
            f"this model needs {distribution}, which is not installed: {how}"
        ) from None


def one_d(values: Any) -> np.ndarray:
    """Predictions as a 1-D array (a single output column is flattened)."""
    out = np.asarray(values)
    if out.ndim == 2 and out.shape[1] == 1:
        return out.ravel()
    return out


def no_proba(model: str) -> InvalidArgument:
    return InvalidArgument(
        f"{model} gives no probabilities (has_proba is False): use predict, "
        "or package a classifier that has predict_proba"
    )


def json_list(values: Any) -> list[Any] | None:
    """Class labels as a JSON-able list (NumPy scalars become Python ones), or None."""
    if values is None:
        return None
    return np.asarray(values).tolist()  # type: ignore[no-any-return]
