"""Reference statistics for drift: what a reference table looked like, kept small.

Computed once from a reference table (a dataset version, a DataFrame) and stored,
so every later drift check compares the current window against it without
reading the reference data again:

- a numeric column keeps its row count, standard deviation and number of distinct
  values, and its sorted values: all of them up to :data:`SKETCH` rows (so the
  tests are exact), else :data:`SKETCH` evenly spaced quantiles, which describe
  the distribution to well within the large-sample distance's threshold;
- a categorical column (text, booleans, categoricals, and numbers with at most
  :data:`FEW_VALUES` distinct values) keeps the count of every value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument

SMALL = 1000
"""Up to this many reference rows, statistical tests decide (p-values); above, distances."""
SKETCH = 10_000
"""A numeric column keeps up to this many values; above, this many quantiles."""
FEW_VALUES = 5
"""A numeric column with at most this many distinct values is compared as categories."""
FORMAT = "mloop.drift-reference/1"

NUMERIC = "numeric"
CATEGORICAL = "categorical"


@dataclass(frozen=True, slots=True)
class ColumnReference:
    name: str
    kind: str
    """``numeric`` or ``categorical``."""
    rows: int
    """Non-null reference values."""
    nulls: int
    values: np.ndarray | None = None
    """Numeric: the sorted values (all, or the sketch's quantiles)."""
    std: float = 0.0
    distinct: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    """Categorical: the count of each value (as text)."""

    @property
    def small(self) -> bool:
        """Whether the reference is small enough for the statistical tests (p-values)."""
        return self.rows <= SMALL

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "rows": self.rows,
            "nulls": self.nulls,
        }
        if self.kind == NUMERIC:
            assert self.values is not None
            out.update(values=self.values.tolist(), std=self.std, distinct=self.distinct)
        else:
            out["counts"] = self.counts
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnReference:
        if data.get("kind") == NUMERIC:
            return cls(
                data["name"],
                NUMERIC,
                data["rows"],
                data["nulls"],
                np.asarray(data["values"], dtype=np.float64),
                float(data["std"]),
                int(data["distinct"]),
            )
        return cls(
            data["name"],
            CATEGORICAL,
            data["rows"],
            data["nulls"],
            counts={str(k): int(v) for k, v in data["counts"].items()},
        )


@dataclass(frozen=True, slots=True)
class Reference:
    """Per-column reference statistics, in the reference table's column order."""

    columns: tuple[ColumnReference, ...]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> ColumnReference:
        for column in self.columns:
            if column.name == name:
                return column
        raise InvalidArgument(f"the reference has no column {name!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Any) -> Reference:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidArgument(f"not a drift reference ({FORMAT})")
        return cls(tuple(ColumnReference.from_dict(item) for item in data["columns"]))


def build_reference(frame: pd.DataFrame, columns: list[str] | None = None) -> Reference:
    """The reference statistics of ``frame`` (of ``columns`` only, when given)."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(f"a reference is built from a DataFrame, got {type(frame).__name__}")
    if frame.empty:
        raise InvalidArgument("the reference has no rows: drift needs data to compare with")
    names = list(frame.columns) if columns is None else columns
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise InvalidArgument(f"the reference has no column {missing[0]!r}")
    return Reference(tuple(column_reference(str(name), frame[name]) for name in names))


def column_reference(name: str, column: pd.Series) -> ColumnReference:
    nulls = int(column.isna().sum())
    present = column.dropna()
    if is_numeric(column):
        values = np.asarray(present, dtype=np.float64)
        values = values[np.isfinite(values)]
        distinct = len(np.unique(values)) if len(values) else 0
        if distinct > FEW_VALUES:
            ordered = np.sort(values)
            return ColumnReference(
                name, NUMERIC, len(ordered), nulls, _sketch(ordered), float(ordered.std()), distinct
            )
    counts = category_counts(present)
    return ColumnReference(name, CATEGORICAL, sum(counts.values()), nulls, counts=counts)


def category_counts(values: pd.Series) -> dict[str, int]:
    """How often each non-null value occurs, keyed by its text (the same for both sides)."""
    found = values.value_counts(sort=False, dropna=True)
    counts: dict[str, int] = {}
    for key, count in found.items():
        if count:
            text = category_key(key)
            counts[text] = counts.get(text, 0) + int(count)
    return counts


def category_key(value: object) -> str:
    """The text a value is counted under: a whole float counts as the integer (a column
    of integers with a null is read as floats), booleans as True and False."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def is_numeric(column: pd.Series) -> bool:
    dtype = column.dtype
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not isinstance(dtype, pd.CategoricalDtype)
    )


def _sketch(ordered: np.ndarray) -> np.ndarray:
    if len(ordered) <= SKETCH:
        return ordered
    levels = (np.arange(SKETCH) + 0.5) / SKETCH
    return np.asarray(np.quantile(ordered, levels, method="linear"), dtype=np.float64)
