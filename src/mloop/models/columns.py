"""Column specs: a column's name, logical type, nullability and categories.

The logical types (:data:`TYPES`) are few on purpose: ``integer``, ``float``,
``boolean``, ``string``, ``category`` and ``datetime``. A ``category`` column
records its categories (all strings, or all integers, floats or booleans).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mloop.errors import InvalidArgument

INTEGER = "integer"
FLOAT = "float"
BOOLEAN = "boolean"
STRING = "string"
CATEGORY = "category"
DATETIME = "datetime"
TYPES = (INTEGER, FLOAT, BOOLEAN, STRING, CATEGORY, DATETIME)
"""The logical column types a signature knows."""

Category = str | int | float | bool

_OBJECT_TYPES = {
    "string": STRING,
    "empty": STRING,
    "integer": INTEGER,
    "floating": FLOAT,
    "mixed-integer-float": FLOAT,
    "boolean": BOOLEAN,
    "datetime": DATETIME,
    "datetime64": DATETIME,
}


def dtype_type(dtype: Any) -> str | None:
    """The logical type of a pandas/NumPy dtype; None for ``object`` (look at the values)
    and for dtypes no signature describes (timedelta, complex, ...)."""
    if isinstance(dtype, pd.CategoricalDtype):
        return CATEGORY
    if isinstance(dtype, pd.StringDtype):
        return STRING
    return {"b": BOOLEAN, "i": INTEGER, "u": INTEGER, "f": FLOAT, "M": DATETIME}.get(
        getattr(dtype, "kind", "")
    )


def values_type(column: pd.Series) -> str | None:
    """The logical type of a column, looking at the values of an ``object`` column."""
    found = dtype_type(column.dtype)
    if found is None and column.dtype == object:
        return _OBJECT_TYPES.get(pd.api.types.infer_dtype(column, skipna=True))
    return found


def describe(column: pd.Series) -> str:
    """What a column holds, for messages: its logical type and its dtype."""
    found = values_type(column)
    return f"{found or 'unsupported values'} (dtype {column.dtype})"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: its name, logical type, whether values may be missing, and for
    ``category`` columns the categories seen (None: not recorded)."""

    name: str
    type: str
    nullable: bool = True
    categories: tuple[Category, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidArgument(f"a column name must be a non-empty string, got {self.name!r}")
        if self.type not in TYPES:
            raise InvalidArgument(
                f"column {self.name!r}: unknown type {self.type!r}; use one of {', '.join(TYPES)}"
            )
        if not isinstance(self.nullable, bool):
            raise InvalidArgument(f"column {self.name!r}: nullable must be True or False")
        if self.categories is not None:
            if self.type != CATEGORY:
                raise InvalidArgument(
                    f"column {self.name!r}: only category columns have categories"
                )
            object.__setattr__(self, "categories", _categories(self.name, self.categories))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "nullable": self.nullable}
        if self.categories is not None:
            out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSpec:
        if not isinstance(data, Mapping) or not {"name", "type"} <= set(data):
            raise InvalidArgument(f"a column spec needs a name and a type, got {data!r}")
        unknown = set(data) - {"name", "type", "nullable", "categories"}
        if unknown:
            raise InvalidArgument(f"column spec {data!r} has unknown keys: {sorted(unknown)}")
        categories = data.get("categories")
        return cls(
            data["name"],
            data["type"],
            data.get("nullable", True),
            None if categories is None else tuple(categories),
        )


def _categories(name: str, values: Iterable[Any]) -> tuple[Category, ...]:
    found = tuple(values)
    kinds = {type(value) for value in found}
    if not kinds <= {str, int, float, bool} or len(kinds) > 1:
        raise InvalidArgument(
            f"column {name!r}: categories must all be strings, or all integers, floats "
            f"or booleans; got {sorted(k.__name__ for k in kinds)}"
        )
    if len(set(found)) != len(found):
        raise InvalidArgument(f"column {name!r}: a category is listed twice")
    return found
