"""Dataset profiles: per-column statistics of a table, computed vectorised.

A :class:`Profile` summarises a table column by column: counts, nulls and
distinct values for every column; min, max, mean, standard deviation, quantiles
and a histogram for numbers; the most frequent values for strings and booleans;
the earliest and latest value for dates and timestamps. Profiles are stored as
JSON with a dataset version (:meth:`Profile.to_dict`), compared by
``mloop data diff`` (:func:`compare_profiles`), turned into schemas
(``mloop.data.schema``) and checked by ``mloop.data.validation``.

NaN in a float column counts as null: it is in ``null_count`` and in no
statistic. Infinities are values (they count in min, max and mean). Statistics
are computed with pyarrow.compute and numpy, one column per worker thread.
"""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mloop.errors import InvalidArgument

FORMAT = "mloop.profile/1"
LOGICAL_TYPES = ("integer", "float", "boolean", "string", "datetime", "date", "binary", "other")
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
QUANTILE_NAMES = ("p01", "p05", "p25", "p50", "p75", "p95", "p99")
HISTOGRAM_BINS = 20
ALL_VALUES_UP_TO = 1000
"""A string or boolean column with at most this many distinct values keeps every value."""
TOP_VALUES = 50
"""Otherwise only this many of its most frequent values are kept."""


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts of values in bins: ``counts[i]`` values fall in ``[edges[i], edges[i + 1])``.

    The last bin is closed on the right. An integer column whose range holds at
    most :data:`HISTOGRAM_BINS` integers gets one bin per integer. Infinite values are
    counted in the first or last bin, so the counts sum to the non-null count.
    To bin later data on the same edges: ``numpy.histogram(np.clip(values,
    edges[0], edges[-1]), bins=edges)``.
    """

    edges: tuple[float, ...]
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.edges) != len(self.counts) + 1 or not self.counts:
            raise InvalidArgument(
                f"a histogram needs one more edge than counts, got {len(self.edges)} edges "
                f"and {len(self.counts)} counts"
            )


@dataclass(frozen=True, slots=True)
class NumericStats:
    """Statistics of the non-null values of an integer or float column.

    ``std`` is the population standard deviation (ddof=0); ``quantiles`` are
    exact (numpy's linear interpolation) at the levels of :data:`QUANTILES`.
    """

    min: int | float
    max: int | float
    mean: float
    std: float
    quantiles: tuple[float, ...]
    histogram: Histogram | None

    def __post_init__(self) -> None:
        if len(self.quantiles) != len(QUANTILES):
            raise InvalidArgument(
                f"numeric statistics need {len(QUANTILES)} quantiles "
                f"({', '.join(QUANTILE_NAMES)}), got {len(self.quantiles)}"
            )

    def quantile(self, level: float) -> float:
        """The quantile at ``level``, one of :data:`QUANTILES`."""
        if level not in QUANTILES:
            raise InvalidArgument(f"no quantile at {level}: profiles keep {QUANTILES}")
        return self.quantiles[QUANTILES.index(level)]


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """What one column holds.

    ``count`` is the number of non-null values, ``null_count`` the nulls (and
    NaNs), ``distinct`` the distinct non-null values (None for types that
    cannot be hashed, such as lists). ``numeric`` is set for integer and float
    columns with values; ``top_values`` for string and boolean columns, most
    frequent first, with ``complete_categories`` telling whether it lists every
    value; ``earliest``/``latest`` (ISO 8601 text) for date and datetime columns.
    """

    name: str
    logical_type: str
    arrow_type: str
    count: int
    null_count: int
    distinct: int | None
    numeric: NumericStats | None = None
    top_values: tuple[tuple[str, int], ...] | None = None
    complete_categories: bool = False
    earliest: str | None = None
    latest: str | None = None

    def __post_init__(self) -> None:
        if self.logical_type not in LOGICAL_TYPES:
            raise InvalidArgument(
                f"column {self.name!r} has unknown logical type {self.logical_type!r}; "
                f"expected one of {', '.join(LOGICAL_TYPES)}"
            )
        if self.count < 0 or self.null_count < 0:
            raise InvalidArgument(f"column {self.name!r} has a negative count")
        if self.distinct is not None and not 0 <= self.distinct <= self.count:
            raise InvalidArgument(
                f"column {self.name!r} has {self.distinct} distinct values "
                f"but only {self.count} values"
            )

    @property
    def rows(self) -> int:
        """Values and nulls: the row count of the table."""
        return self.count + self.null_count

    @property
    def null_fraction(self) -> float:
        """Share of rows that are null (0 for an empty table)."""
        return self.null_count / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (non-finite floats as "nan", "inf", "-inf")."""
        return {
            "name": self.name,
            "logical_type": self.logical_type,
            "arrow_type": self.arrow_type,
            "count": self.count,
            "null_count": self.null_count,
            "null_fraction": self.null_fraction,
            "distinct": self.distinct,
            "numeric": None if self.numeric is None else _numeric_to_dict(self.numeric),
            "top_values": None
            if self.top_values is None
            else [{"value": value, "count": n} for value, n in self.top_values],
            "complete_categories": self.complete_categories,
            "earliest": self.earliest,
            "latest": self.latest,
        }


@dataclass(frozen=True, slots=True)
class Profile:
    """A table's row count and one :class:`ColumnProfile` per column, in table order."""

    rows: int
    columns: tuple[ColumnProfile, ...]

    def __post_init__(self) -> None:
        if self.rows < 0:
            raise InvalidArgument(f"a profile cannot have {self.rows} rows")
        _check_unique([column.name for column in self.columns])
        for column in self.columns:
            if column.rows != self.rows:
                raise InvalidArgument(
                    f"column {column.name!r} has {column.count} values and "
                    f"{column.null_count} nulls, which does not add up to {self.rows} rows"
                )

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in table order."""
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> ColumnProfile | None:
        """The profile of column ``name``, or None if the table has no such column."""
        return next((column for column in self.columns if column.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` reads it back."""
        return {
            "format": FORMAT,
            "rows": self.rows,
            "columns": [column.to_dict() for column in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Profile:
        """Read :meth:`to_dict` output back; InvalidArgument says what is wrong with it."""
        fields = _Fields(data, "profile")
        if data.get("format") != FORMAT:
            raise InvalidArgument(f'not an mloop profile: no "format": "{FORMAT}" field')
        columns = tuple(map(_column_from_dict, fields.items("columns"), itertools.count()))
        return cls(rows=fields.count("rows"), columns=columns)


def describe_type(column: ColumnProfile) -> str:
    """``integer (int32)``; just ``string`` when the Arrow type says nothing more."""
    if column.arrow_type == column.logical_type:
        return column.logical_type
    return f"{column.logical_type} ({column.arrow_type})"


def a_or_an(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def plural(count: int, noun: str) -> str:
    """``1 row``, ``2 rows``, ``1,000 categories``."""
    if count == 1:
        return f"1 {noun}"
    many = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count:,} {many}"


def logical_type(arrow_type: pa.DataType) -> str:
    """The logical type (one of :data:`LOGICAL_TYPES`) of an Arrow type.

    Dictionary-encoded columns take the type of their values; decimals are floats.
    """
    kind = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    checks: tuple[tuple[str, Callable[[pa.DataType], bool]], ...] = (
        ("integer", pa.types.is_integer),
        ("float", lambda t: pa.types.is_floating(t) or pa.types.is_decimal(t)),
        ("boolean", pa.types.is_boolean),
        ("string", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
        ("datetime", pa.types.is_timestamp),
        ("date", pa.types.is_date),
        ("binary", _is_binary),
    )
    return next((name for name, check in checks if check(kind)), _view_type(kind))


def profile_table(table: pa.Table) -> Profile:
    """Profile every column of ``table``, columns in parallel threads."""
    if not isinstance(table, pa.Table):
        raise InvalidArgument(
            f"profile_table needs a pyarrow.Table, got {type(table).__name__}; "
            "convert it with mloop.data.tables.to_table"
        )
    names = table.column_names
    _check_unique(names)
    workers = min(len(names), os.cpu_count() or 1)
    if workers <= 1:
        columns = list(map(_profile_column, names, table.columns))
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            columns = list(pool.map(_profile_column, names, table.columns))
    return Profile(rows=table.num_rows, columns=tuple(columns))


# -- computing one column ---------------------------------------------------------------


def _profile_column(name: str, column: pa.ChunkedArray) -> ColumnProfile:
    kind = logical_type(column.type)
    values = _decoded(column, kind)
    base: dict[str, Any] = {"name": name, "logical_type": kind, "arrow_type": str(column.type)}
    if kind in ("integer", "float"):
        data = np.sort(_non_null(values, kind))
        distinct = 1 + int(np.count_nonzero(data[1:] != data[:-1])) if data.size else 0
        return ColumnProfile(
            **base,
            count=data.size,
            null_count=len(column) - data.size,
            distinct=distinct,
            numeric=_numeric(data, integer=kind == "integer"),
        )
    base.update(count=len(column) - values.null_count, null_count=values.null_count)
    if kind in ("string", "boolean"):
        distinct, top = _top_values(values, boolean=kind == "boolean")
        return ColumnProfile(
            **base, distinct=distinct, top_values=top, complete_categories=len(top) == distinct
        )
    if kind in ("datetime", "date"):
        extremes = pc.min_max(values)
        return ColumnProfile(
            **base,
            distinct=pc.count_distinct(values).as_py(),
            earliest=_iso(extremes["min"]),
            latest=_iso(extremes["max"]),
        )
    return ColumnProfile(**base, distinct=_distinct_or_none(values))


def _non_null(values: pa.ChunkedArray, kind: str) -> np.ndarray:
    """The non-null values as a numpy array: float64 without NaN, or integers."""
    if kind == "integer":
        return np.asarray(pc.drop_null(values).to_numpy())
    data = np.asarray(values.to_numpy(), dtype=np.float64)  # nulls become NaN
    return data[~np.isnan(data)]


def _decoded(column: pa.ChunkedArray, kind: str) -> pa.ChunkedArray:
    """Values in a type the statistics handle: dictionaries decoded, decimals as float64."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if kind == "float" and not pa.types.is_floating(column.type):
        return column.cast(pa.float64())
    views = {"string_view": pa.large_string(), "binary_view": pa.large_binary()}
    return column.cast(views[str(column.type)]) if str(column.type) in views else column


def _numeric(data: np.ndarray, *, integer: bool) -> NumericStats | None:
    """Statistics of sorted, non-null values; equal values compare equal (so -0.0 is 0.0)."""
    if data.size == 0:
        return None
    as_float = data.astype(np.float64, copy=False)
    with np.errstate(all="ignore"):  # infinities and overflow give inf or nan, on purpose
        mean = float(np.mean(as_float))
        std = float(np.std(as_float))
        quantiles = tuple(float(q) for q in np.quantile(data, QUANTILES))
    return NumericStats(
        min=data[0].item(),
        max=data[-1].item(),
        mean=mean,
        std=std,
        quantiles=quantiles,
        histogram=_histogram(as_float, integer=integer),
    )


def _histogram(data: np.ndarray, *, integer: bool) -> Histogram | None:
    """Bins over the finite range of sorted ``data``; infinities land in the end bins."""
    finite = data if integer else data[np.isfinite(data)]
    if finite.size == 0:
        return None
    low, high = float(finite[0]), float(finite[-1])
    bins = HISTOGRAM_BINS
    if integer and high - low < HISTOGRAM_BINS:  # one bin per integer
        bins, high = int(high - low) + 1, high + 1.0
    elif low == high:
        low, high = low - 0.5, high + 0.5
    if math.isfinite(high - low):
        edges = np.linspace(low, high, bins + 1)
    else:  # the span overflows: place the edges without subtracting
        steps = np.linspace(0.0, 1.0, bins + 1)
        edges = low * (1 - steps) + high * steps
    # Bin i holds edges[i] <= value < edges[i + 1], the last bin also its right edge.
    starts = np.searchsorted(data, edges[:-1], side="left")
    starts[0] = 0
    counts = np.diff(np.append(starts, data.size))
    return Histogram(edges=tuple(edges.tolist()), counts=tuple(counts.tolist()))


def _top_values(
    values: pa.ChunkedArray, *, boolean: bool
) -> tuple[int, tuple[tuple[str, int], ...]]:
    """(distinct non-null values, the most frequent ones with their counts)."""
    counted = pc.value_counts(values)
    table = pa.table({"value": counted.field("values"), "n": counted.field("counts")})
    table = table.filter(pc.is_valid(table["value"]))
    keys = [("n", "descending"), ("value", "ascending")]
    if table.num_rows <= ALL_VALUES_UP_TO:
        order = pc.sort_indices(table, sort_keys=keys)
    else:
        order = pc.select_k_unstable(table, k=TOP_VALUES, sort_keys=keys)
    top = table.take(order)
    labels = pc.cast(top["value"], pa.string()) if boolean else top["value"]
    return table.num_rows, tuple(zip(labels.to_pylist(), top["n"].to_pylist(), strict=True))


def _iso(scalar: pa.Scalar) -> str | None:
    if not scalar.is_valid:
        return None
    if pa.types.is_timestamp(scalar.type) and scalar.type.unit == "ns":
        scalar = scalar.cast(pa.timestamp("us", tz=scalar.type.tz), safe=False)
    try:
        return str(scalar.as_py().isoformat())
    except (ValueError, OverflowError):  # outside Python's years 1-9999
        return str(scalar)


def _distinct_or_none(values: pa.ChunkedArray) -> int | None:
    if pa.types.is_null(values.type):
        return 0
    try:
        return int(pc.count_distinct(values).as_py())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _is_binary(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
    )


def _view_type(kind: pa.DataType) -> str:
    """string_view and binary_view (newer pyarrow) by name, else "other"."""
    return {"string_view": "string", "binary_view": "binary"}.get(str(kind), "other")


def _check_unique(names: list[str]) -> None:
    twice = sorted(name for name, n in Counter(names).items() if n > 1)
    if twice:
        raise InvalidArgument(
            f"the table has more than one column named {', '.join(map(repr, twice))}; "
            "rename them so each column has its own name"
        )


# -- JSON -------------------------------------------------------------------------------

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def number_out(value: float) -> float | str:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


class _Fields:
    """Typed reads from one JSON object; errors name the object and the key."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise InvalidArgument(f"{where} must be a JSON object, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.where = where

    def get(
        self, key: str, check: Callable[[Any], bool], what: str, *, optional: bool = False
    ) -> Any:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if key not in self.data:
            raise InvalidArgument(f"{self.where} has no {key!r} field")
        if not check(value):
            raise InvalidArgument(f"{self.where}: {key!r} must be {what}, got {value!r:.80}")
        return value

    def text(self, key: str, *, optional: bool = False) -> Any:
        return self.get(key, lambda v: isinstance(v, str), "text", optional=optional)

    def count(self, key: str, *, optional: bool = False) -> Any:
        return self.get(key, _is_count, "a non-negative integer", optional=optional)

    def items(self, key: str, *, optional: bool = False) -> Any:
        return self.get(key, lambda v: isinstance(v, list), "a list", optional=optional)

    def number(self, key: str) -> Any:
        value = self.get(
            key,
            lambda v: type(v) in (int, float) or (isinstance(v, str) and v in _NON_FINITE),
            'a number (or "nan", "inf", "-inf")',
        )
        return _NON_FINITE[value] if isinstance(value, str) else value


def _numeric_to_dict(stats: NumericStats) -> dict[str, Any]:
    histogram = stats.histogram
    return {
        "min": number_out(stats.min),
        "max": number_out(stats.max),
        "mean": number_out(stats.mean),
        "std": number_out(stats.std),
        "quantiles": dict(zip(QUANTILE_NAMES, map(number_out, stats.quantiles), strict=True)),
        "histogram": None
        if histogram is None
        else {"edges": list(histogram.edges), "counts": list(histogram.counts)},
    }


def _column_from_dict(data: Any, index: int) -> ColumnProfile:
    fields = _Fields(data, f"profile column #{index + 1}")
    name = fields.text("name")
    fields.where = f"profile column {name!r}"
    numeric = fields.get("numeric", lambda v: True, "", optional=True)
    top = fields.items("top_values", optional=True)
    return ColumnProfile(
        name=name,
        logical_type=fields.text("logical_type"),
        arrow_type=fields.text("arrow_type"),
        count=fields.count("count"),
        null_count=fields.count("null_count"),
        distinct=fields.count("distinct", optional=True),
        numeric=None if numeric is None else _numeric_from_dict(numeric, fields.where),
        top_values=None if top is None else tuple(_top_from_dict(v, fields.where) for v in top),
        complete_categories=fields.get(
            "complete_categories", lambda v: isinstance(v, bool), "true or false"
        ),
        earliest=fields.text("earliest", optional=True),
        latest=fields.text("latest", optional=True),
    )


def _numeric_from_dict(data: Any, where: str) -> NumericStats:
    fields = _Fields(data, f"{where} numeric")
    quantiles = _Fields(fields.get("quantiles", lambda v: True, ""), f"{where} quantiles")
    histogram = fields.get("histogram", lambda v: True, "", optional=True)
    return NumericStats(
        min=fields.number("min"),
        max=fields.number("max"),
        mean=fields.number("mean"),
        std=fields.number("std"),
        quantiles=tuple(quantiles.number(name) for name in QUANTILE_NAMES),
        histogram=None if histogram is None else _histogram_from_dict(histogram, where),
    )


def _histogram_from_dict(data: Any, where: str) -> Histogram:
    fields = _Fields(data, f"{where} histogram")
    edges, counts = fields.items("edges"), fields.items("counts")
    if not all(type(edge) in (int, float) for edge in edges) or not all(map(_is_count, counts)):
        raise InvalidArgument(f"{where} histogram: edges must be numbers and counts integers >= 0")
    return Histogram(edges=tuple(float(edge) for edge in edges), counts=tuple(counts))


def _top_from_dict(data: Any, where: str) -> tuple[str, int]:
    fields = _Fields(data, f"{where} top value")
    return fields.text("value"), fields.count("count")
