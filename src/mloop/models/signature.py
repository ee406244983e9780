"""Signatures: the columns a model takes (and returns), with a small set of logical types.

    signature = infer_signature(X_train, y_train)
    signature.enforce(frame)      # the frame the model expects, or InvalidArgument

A column's type is one of :data:`~mloop.models.columns.TYPES`. ``category``
columns also record their categories, so data sent as plain text or numbers is
turned back into the categorical the model was trained on. ``nullable`` records
whether the data the signature was inferred from had missing values; it
describes the data and is not enforced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument
from mloop.models.columns import CATEGORY, TYPES, ColumnSpec, values_type
from mloop.models.enforce import Enforcer


@dataclass(frozen=True)
class Signature:
    """The input columns a model takes, in order, and optionally what it returns."""

    inputs: tuple[ColumnSpec, ...]
    outputs: tuple[ColumnSpec, ...] | None = None
    _enforcer: Enforcer = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        inputs = tuple(self.inputs)
        if not inputs or not all(isinstance(spec, ColumnSpec) for spec in inputs):
            raise InvalidArgument("a signature needs at least one input ColumnSpec")
        _check_unique("input", inputs)
        object.__setattr__(self, "inputs", inputs)
        if self.outputs is not None:
            outputs = tuple(self.outputs)
            _check_unique("output", outputs)
            object.__setattr__(self, "outputs", outputs)
        object.__setattr__(self, "_enforcer", Enforcer(inputs))

    @property
    def input_names(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    def enforce(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` as the model expects it: columns in order, extra ones dropped,
        compatible types converted (integer to float, text to category, ...).

        A frame that already matches is returned as it is, without a copy.
        InvalidArgument names every missing column and every column of a wrong type.
        """
        return self._enforcer(frame)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [spec.to_dict() for spec in self.inputs],
            "outputs": None if self.outputs is None else [s.to_dict() for s in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        if not isinstance(data, Mapping) or not isinstance(data.get("inputs"), list):
            raise InvalidArgument(
                f"a signature is {{'inputs': [...], 'outputs': ...}}, got {data!r}"
            )
        outputs = data.get("outputs")
        return cls(
            tuple(ColumnSpec.from_dict(item) for item in data["inputs"]),
            None if outputs is None else tuple(ColumnSpec.from_dict(item) for item in outputs),
        )


def _check_unique(what: str, specs: Sequence[ColumnSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise InvalidArgument(f"the {what} column {spec.name!r} is listed twice")
        seen.add(spec.name)


def infer_signature(inputs: Any, outputs: Any = None) -> Signature:
    """The signature of data like ``inputs`` (a DataFrame, a 2-D NumPy array or an Arrow
    table) and, when given, ``outputs`` (a Series, array or DataFrame of targets or
    predictions). Columns of a NumPy array are named "0", "1", ..."""
    frame = as_frame(inputs, "inputs")
    return Signature(
        tuple(column_spec(str(name), frame[name]) for name in frame.columns),
        None if outputs is None else _outputs(outputs),
    )


def column_spec(name: str, column: pd.Series) -> ColumnSpec:
    """The spec of one column, inferred from its dtype (and values, for ``object``)."""
    kind = values_type(column)
    if kind is None:
        raise InvalidArgument(
            f"column {name!r} holds {column.dtype} values, which a signature cannot describe: "
            f"convert it to one of {', '.join(TYPES)}, or pass signature= explicitly"
        )
    nullable = bool(column.isna().any())
    if kind != CATEGORY:
        return ColumnSpec(name, kind, nullable)
    categories = column.cat.categories.tolist()
    try:
        return ColumnSpec(name, kind, nullable, tuple(categories))
    except InvalidArgument:  # categories of another kind (dates, ...): not recorded
        return ColumnSpec(name, kind, nullable)


def as_frame(data: Any, what: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        if not data.columns.is_unique:
            raise InvalidArgument(f"{what}: column names must be unique")
        return data
    if isinstance(data, np.ndarray):
        if data.ndim not in (1, 2):
            raise InvalidArgument(f"{what}: a NumPy array must be 1-D or 2-D, got {data.ndim}-D")
        frame = pd.DataFrame(data.reshape(len(data), -1))
        return frame.set_axis([str(c) for c in frame.columns], axis=1)
    if type(data).__module__.startswith("pyarrow") and hasattr(data, "to_pandas"):
        return as_frame(data.to_pandas(), what)
    raise InvalidArgument(
        f"{what} must be a pandas DataFrame, a NumPy array or an Arrow table, "
        f"got {type(data).__name__}"
    )


def _outputs(data: Any) -> tuple[ColumnSpec, ...]:
    if isinstance(data, pd.Series):
        return (column_spec("output" if data.name is None else str(data.name), data),)
    if isinstance(data, list | tuple):
        data = np.asarray(data)
    if isinstance(data, np.ndarray) and data.ndim == 1:
        return (column_spec("output", pd.Series(data)),)
    frame = as_frame(data, "outputs")
    return tuple(column_spec(str(name), frame[name]) for name in frame.columns)
