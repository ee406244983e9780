"""The ``sklearn`` flavor: scikit-learn estimators and pipelines, saved with skops.

Why skops and not pickle: unpickling a file can run any code its author chose,
so a pickled model is only as safe as everyone who could write it. skops stores
the estimator's state as data and, when loading, builds only types from a list of
trusted ones; any other type in the file stops the load before anything runs.

The trust decision, made at every load:

1. skops's own default list (scikit-learn estimators and transformers, NumPy and
   SciPy arrays, NumPy ufuncs, builtins) is trusted;
2. so is :data:`TRUSTED_TYPES`: a fixed list of scikit-learn internals that skops
   leaves out but that estimators need (fitted trees, neighbour indexes, the
   optimiser state of neural networks, the check function of histogram boosting
   with categorical features). Each is plain state or a pure function;
3. anything else (a transformer class of your own, another library's estimator)
   is refused, with the list of the types, unless the caller names them in
   ``load(..., trusted_types=[...])``: only they can say they trust the author.

The types a package needs beyond skops's list are recorded in its manifest at
logging time (``options.types``), so they can be reviewed before anyone loads it.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
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
    one_d,
    require,
)

FILE = "model.skops"

TRUSTED_TYPES = frozenset(
    {
        # fitted state of tree models, nearest neighbours and neural networks
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.metrics._dist_metrics.ChebyshevDistance64",
        "sklearn.metrics._dist_metrics.MinkowskiDistance64",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.utils._bunch.Bunch",
        "numpy.dtype",
        # pure functions that estimators keep: input checks, univariate scores
        "functools.partial",
        "sklearn.utils.validation.check_array",
        "sklearn.feature_selection._univariate_selection.f_classif",
        "sklearn.feature_selection._univariate_selection.f_regression",
        "sklearn.feature_selection._univariate_selection.chi2",
    }
)
"""Types trusted beyond skops's defaults: scikit-learn internals, state or pure functions."""


class SklearnFlavor:
    name = "sklearn"
    description = "scikit-learn estimators and pipelines (saved with skops)"

    def matches(self, model: object) -> bool:
        return from_library(model, "sklearn")

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        validation = require("sklearn.utils.validation", "scikit-learn")
        sio = require("skops.io", "skops")
        if not callable(getattr(model, "predict", None)):
            raise InvalidArgument(
                f"{class_name(model)} has no predict method: package an estimator, or a "
                "Pipeline that ends with one"
            )
        try:
            validation.check_is_fitted(model)
        except (ValueError, AttributeError, TypeError):
            raise InvalidArgument(
                f"{class_name(model)} is not fitted: fit it before logging it"
            ) from None
        try:
            (folder / FILE).write_bytes(canonical_skops(sio.dumps(model)))
        except Exception as exc:  # skops refuses what it cannot represent (lambdas, ...)
            raise InvalidArgument(
                f"skops cannot save this {class_name(model)} ({exc}); to pickle it instead, "
                "log it with flavor='python' (loading a pickle runs the code of its author)"
            ) from None
        return {
            "file": FILE,
            "estimator": class_name(model),
            "classes": json_list(getattr(model, "classes_", None)),
            "has_proba": callable(getattr(model, "predict_proba", None)),
            "feature_names": getattr(model, "feature_names_in_", None) is not None,
            "types": sorted(sio.get_untrusted_types(file=folder / FILE)),
        }

    def load(self, folder: Path, options: Mapping[str, Any], how: LoadOptions) -> Predictor:
        sio = require("skops.io", "skops")
        path = folder / str(options.get("file", FILE))
        needed = set(sio.get_untrusted_types(file=path))
        refused = sorted(needed - TRUSTED_TYPES - set(how.trusted_types))
        if refused:
            raise InvalidArgument(
                "the model needs types that mloop does not trust by default: "
                f"{', '.join(refused)}. "
                "Loading them can run their code: if you trust whoever logged this model, pass "
                "trusted_types=[...] with these names to mloop.models.load "
                "(--trust NAME for mloop models dockerfile)"
            )
        model = sio.load(path, trusted=sorted(needed))
        return SklearnPredictor(model, options)

    def requirements(self) -> list[str]:
        return ["scikit-learn", "scipy", "skops"]

    def input_order(self, model: Any, names: Sequence[str]) -> list[str]:
        fitted = getattr(model, "feature_names_in_", None)
        if fitted is None:
            return list(names)
        return match_columns([str(name) for name in fitted], names)


def canonical_skops(data: bytes) -> bytes:
    """The same skops file, made the same bytes for the same model: skops names objects
    and array files by their memory address and stamps the zip with the time, so two
    saves of one model would differ. Addresses become numbers in order of appearance,
    entries are sorted, and every timestamp is 1980-01-01."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        schema = json.loads(source.read("schema.json"))
        ids: dict[int, int] = {}
        renumbered = _renumber(schema, ids)
        files = {name: source.read(name) for name in source.namelist() if name != "schema.json"}
    renamed = {_renamed(name, ids): content for name, content in files.items()}
    renamed["schema.json"] = json.dumps(renumbered, indent=2).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name in sorted(renamed):
            target.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), renamed[name])
    return out.getvalue()


def _renumber(node: Any, ids: dict[int, int]) -> Any:
    if isinstance(node, list):
        return [_renumber(item, ids) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            out[key] = ids.setdefault(value, len(ids) + 1)
        elif key == "file" and isinstance(value, str) and value.endswith(".npy"):
            old = int(value[: -len(".npy")]) if value[: -len(".npy")].isdigit() else None
            out[key] = value if old is None else f"{ids.setdefault(old, len(ids) + 1)}.npy"
        else:
            out[key] = _renumber(value, ids)
    return out


def _renamed(name: str, ids: dict[int, int]) -> str:
    stem = name[: -len(".npy")] if name.endswith(".npy") else ""
    return f"{ids[int(stem)]}.npy" if stem.isdigit() and int(stem) in ids else name


class SklearnPredictor:
    """A scikit-learn model behind the :class:`Predictor` interface.

    scikit-learn spends most of a small prediction checking a DataFrame's column
    names (about 0.6 ms of 0.8 ms for one row of 30 columns); the signature has
    already checked them. So the first numeric frame is also scored as a plain
    array by a copy of the model that has no feature names, and when both answers
    are the same, later frames with the same columns take that path. Models that
    need the names keep the frame: pipelines and column transformers, and models
    with fitted parts that were fitted on frames themselves (a voting ensemble).
    """

    def __init__(self, model: Any, options: Mapping[str, Any]) -> None:
        self.model = model
        self.classes: list[Any] | None = options.get("classes")
        self.has_proba = bool(options.get("has_proba"))
        # A model fitted on an array warns when it is given column names: give it an array.
        self._as_array = not options.get("feature_names", True)
        self._fast: Any = None
        self._fast_columns: pd.Index | None = None
        self._probed = False

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        model, data = self._input(frame)
        return one_d(model.predict(data))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.has_proba:
            raise no_proba(class_name(self.model))
        model, data = self._input(frame)
        return np.asarray(model.predict_proba(data))

    def predict_both(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        if not self.has_proba:
            return self.predict(frame), None
        model, data = self._input(frame)
        proba = np.asarray(model.predict_proba(data))
        if not _predicts_argmax(self.model) or proba.ndim != 2:
            return one_d(model.predict(data)), proba
        predictions = np.asarray(self.model.classes_).take(np.argmax(proba, axis=1))
        top = proba.max(axis=1, keepdims=True)
        tied = np.flatnonzero((proba == top).sum(axis=1) > 1)
        if len(tied):  # probabilities rounded to a tie: the model's own predict decides
            rows = data.iloc[tied] if isinstance(data, pd.DataFrame) else data[tied]
            predictions[tied] = one_d(model.predict(rows))
        return predictions, proba

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        return None

    def _input(self, frame: pd.DataFrame) -> tuple[Any, Any]:
        if self._as_array:
            return self.model, frame.to_numpy()
        if self._fast is not None:
            columns = frame.columns
            if columns is self._fast_columns or columns.equals(self._fast_columns):
                values = frame.to_numpy()
                if values.dtype.kind in _NUMERIC:
                    return self._fast, values
        elif not self._probed:
            self._probe(frame)
        return self.model, frame

    def _probe(self, frame: pd.DataFrame) -> None:
        self._probed = True
        values = frame.to_numpy()
        if values.dtype.kind not in _NUMERIC or "feature_names_in_" not in vars(self.model):
            return  # (a pipeline's feature names are a property of its first step)
        if _fitted_parts_have_names(self.model):
            return  # they would warn about the array on every call
        stripped = copy.copy(self.model)
        del stripped.feature_names_in_
        calls = ["predict", "predict_proba"] if self.has_proba else ["predict"]
        try:
            same = all(
                _same(getattr(stripped, call)(values), getattr(self.model, call)(frame))
                for call in calls
            )
        except Exception:  # the model needs its frame
            return
        if same:
            self._fast, self._fast_columns = stripped, frame.columns


def _fitted_parts_have_names(model: Any) -> bool:
    """Whether an estimator fitted inside ``model`` (an ensemble's members, a meta-
    estimator's inner model) was fitted on a frame: it would check names too."""
    for name, value in vars(model).items():
        if not name.endswith("_") or name == "feature_names_in_":
            continue
        parts = (
            value.ravel()
            if isinstance(value, np.ndarray) and value.dtype == object
            else (value if isinstance(value, list | tuple) else [value])
        )
        for part in list(parts)[:1000]:
            inner = getattr(part, "__dict__", None)
            if inner is not None and "feature_names_in_" in inner:
                return True
    return False


_NUMERIC = "fiub"

# Classifiers whose predict is, in scikit-learn's own code, the class of the largest
# probability or of a score the probabilities rank the same way: for them one
# predict_proba call gives both answers (rows whose probabilities tie ask predict).
_PREDICTS_ARGMAX = frozenset(
    {
        "DecisionTreeClassifier",
        "ExtraTreeClassifier",
        "ExtraTreesClassifier",
        "GradientBoostingClassifier",
        "HistGradientBoostingClassifier",
        "LogisticRegression",
        "RandomForestClassifier",
    }
)


def _predicts_argmax(model: Any) -> bool:
    kind = type(model)
    return kind.__name__ in _PREDICTS_ARGMAX and kind.__module__.startswith("sklearn.")


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


FLAVOR = SklearnFlavor()
