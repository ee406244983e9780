"""Making a DataFrame match a signature's inputs, or saying exactly why it cannot.

The common case is a frame that already has the right columns in the right order
with the right dtypes: it is returned as it is, after one look at its column
index and its dtypes (about 15 µs for 15 columns). Dtypes accepted once are
remembered by identity, so a categorical dtype's categories are compared once,
not on every call. Anything else takes the slow path: columns are looked up by
name, compatible types converted, extra columns dropped and the order fixed.

Conversions (nothing else is converted):

- integer → float;
- text or integer values, or a categorical with other categories → the
  signature's categorical (its categories first, in order, so the codes the model
  was trained with do not change; values it never saw are kept after them);
- text → datetime, when every value parses;
- a categorical of text → string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument
from mloop.models.columns import (
    BOOLEAN,
    CATEGORY,
    DATETIME,
    FLOAT,
    INTEGER,
    STRING,
    ColumnSpec,
    describe,
    dtype_type,
    values_type,
)

Cast = Callable[[pd.Series], pd.Series]


class _Mismatch(Exception):
    """A column that cannot be made to fit its spec (the message says what it holds)."""


class Enforcer:
    """Enforces one list of column specs; keeps the dtypes it accepted, by identity."""

    def __init__(self, specs: Sequence[ColumnSpec]) -> None:
        self.specs = tuple(specs)
        self.names = [spec.name for spec in self.specs]
        self.index = pd.Index(self.names, dtype=object)
        self.accepts = [_acceptor(spec) for spec in self.specs]
        self.casts = [_caster(spec) for spec in self.specs]
        self._columns: object = None  # the last column index found equal to self.index
        self._seen: list[object] = [None] * len(self.specs)

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame):
            raise InvalidArgument(
                f"a model takes a pandas DataFrame, got {type(frame).__name__}; for a NumPy "
                "array use pd.DataFrame(array, columns=model.signature.input_names)"
            )
        columns = frame.columns
        if columns is self._columns or columns.equals(self.index):
            self._columns = columns
            seen, accepts = self._seen, self.accepts
            for i, dtype in enumerate(frame.dtypes.tolist()):
                if dtype is not seen[i]:
                    if not accepts[i](dtype):
                        break
                    seen[i] = dtype
            else:
                return frame
        return self._convert(frame)

    def _convert(self, frame: pd.DataFrame) -> pd.DataFrame:
        labels = self._labels(frame)
        dtypes = dict(zip(frame.columns, frame.dtypes.tolist(), strict=True))
        changed: dict[str, pd.Series] = {}
        problems = []
        for spec, accepts, cast in zip(self.specs, self.accepts, self.casts, strict=True):
            label = labels[spec.name]
            if accepts(dtypes[label]):
                continue
            column = frame[label]
            try:
                converted = cast(column)
            except _Mismatch as exc:
                problems.append(f"column {spec.name!r}: expected {_expected(spec)}, got {exc}")
                continue
            except (ValueError, TypeError):  # e.g. missing values in an integer column
                got = describe(column)
                problems.append(f"column {spec.name!r}: expected {_expected(spec)}, got {got}")
                continue
            if converted is not column:
                changed[spec.name] = converted
        if problems:
            raise InvalidArgument("; ".join(problems))
        if not changed and frame.columns.equals(self.index):
            return frame
        out = frame.loc[:, [labels[name] for name in self.names]].set_axis(self.names, axis=1)
        for name, column in changed.items():
            out[name] = column
        return out

    def _labels(self, frame: pd.DataFrame) -> dict[str, Any]:
        """The frame's column label for each spec name (labels that are not text match
        by their text: column 0 is "0"); InvalidArgument lists every missing column."""
        labels: dict[str, Any] = {}
        for label in frame.columns:
            key = label if isinstance(label, str) else str(label)
            if key in labels:
                raise InvalidArgument(f"the input has two columns named {key!r}")
            labels[key] = label
        missing = [spec for spec in self.specs if spec.name not in labels]
        if missing:
            listed = ", ".join(f"{spec.name!r} ({_expected(spec)})" for spec in missing)
            raise InvalidArgument(
                f"the input is missing column{'s' if len(missing) > 1 else ''} {listed}; "
                f"the model takes {len(self.specs)} columns: {', '.join(self.names)}"
            )
        return labels


def _expected(spec: ColumnSpec) -> str:
    if spec.categories is None:
        return spec.type
    shown = ", ".join(repr(c) for c in spec.categories[:5])
    more = ", ..." if len(spec.categories) > 5 else ""
    return f"category of {_kind_of(spec.categories)} ({shown}{more})"


def _kind_of(categories: Sequence[Any]) -> str:
    first = categories[0] if categories else ""
    return {str: STRING, bool: BOOLEAN, int: INTEGER, float: FLOAT}[type(first)]


# -- what passes as it is ----------------------------------------------------------------
def _acceptor(spec: ColumnSpec) -> Callable[[Any], bool]:
    """Whether a column of a dtype fits ``spec`` with no change and no look at its values."""
    if spec.type == CATEGORY:
        if spec.categories is None:
            return lambda dtype: isinstance(dtype, pd.CategoricalDtype)
        known = pd.Index(list(spec.categories))
        return lambda dtype: (
            isinstance(dtype, pd.CategoricalDtype) and bool(dtype.categories.equals(known))
        )
    wanted = spec.type
    return lambda dtype: dtype_type(dtype) == wanted


# -- what is converted ---------------------------------------------------------------------
def _caster(spec: ColumnSpec) -> Cast:
    if spec.type == CATEGORY:
        return _category_caster(spec)
    return {
        INTEGER: _to_integer,
        FLOAT: _to_float,
        BOOLEAN: _to_boolean,
        STRING: _to_string,
        DATETIME: _to_datetime,
    }[spec.type]


def _mismatch(column: pd.Series, hint: str = "") -> _Mismatch:
    return _Mismatch(describe(column) + hint)


def _to_integer(column: pd.Series) -> pd.Series:
    found = values_type(column)
    if found == INTEGER:
        return column.astype("int64") if column.dtype == object else column
    hint = " (missing values turn an integer column into float)" if found == FLOAT else ""
    raise _mismatch(column, hint)


def _to_float(column: pd.Series) -> pd.Series:
    found = values_type(column)
    if found == FLOAT and column.dtype != object:
        return column
    if found in (INTEGER, FLOAT):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        return pd.Series(values, index=column.index, name=column.name)
    raise _mismatch(column)


def _to_boolean(column: pd.Series) -> pd.Series:
    if values_type(column) != BOOLEAN:
        raise _mismatch(column)
    return column.astype(bool) if column.dtype == object else column


def _to_string(column: pd.Series) -> pd.Series:
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype) and dtype_type(dtype.categories.dtype) == STRING:
        return column.astype(dtype.categories.dtype)
    if values_type(column) != STRING:
        raise _mismatch(column)
    return column


def _to_datetime(column: pd.Series) -> pd.Series:
    if values_type(column) == DATETIME and column.dtype != object:
        return column
    if values_type(column) not in (STRING, DATETIME):
        raise _mismatch(column)
    try:
        return pd.to_datetime(column)
    except (ValueError, TypeError) as exc:
        raise _Mismatch(f"text that is not a date or time ({exc})") from None


def _category_caster(spec: ColumnSpec) -> Cast:
    if spec.categories is None:
        return lambda column: column.astype("category")
    known = list(spec.categories)
    members = set(known)
    kind = _kind_of(known)

    def cast(column: pd.Series) -> pd.Series:
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            found = values_type(pd.Series(dtype.categories))
            values = column.astype(object)
        else:
            found, values = values_type(column), column
        if found != kind and not (kind == FLOAT and found == INTEGER):
            raise _mismatch(column)
        unseen = [value for value in values.dropna().unique() if value not in members]
        codes = pd.Categorical(values, categories=known + unseen)
        return pd.Series(codes, index=column.index, name=column.name)

    return cast
