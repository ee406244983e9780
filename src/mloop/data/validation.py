"""Data validation: a table's profile checked against a schema and/or a reference profile.

:func:`validate` returns a :class:`Report` of :class:`Anomaly` items, each with
a stable ``kind``, a severity, the column, what was expected and what was
observed. Against a schema, broken rules are errors (an extra column is a
warning). Against a reference profile (say the training data), a missing or
retyped column, a jump in nulls and a collapse in rows are errors; values
outside the reference range and categories it never had are warnings.

Checks run on the profile. Given the table too, range and category checks
count the offending values exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from mloop.data.profile import ColumnProfile, Profile, a_or_an, describe_type, plural
from mloop.data.schema import ColumnSchema, Schema, parse_bound
from mloop.errors import InvalidArgument

Severity = Literal["error", "warning"]
KINDS = (
    "missing_column",
    "unexpected_column",
    "type_mismatch",
    "null_values",
    "out_of_range",
    "unseen_category",
    "not_unique",
    "null_fraction_jump",
    "row_count_collapse",
)
Value = int | float | date | datetime


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Limits for the checks against a reference profile.

    ``null_jump``: the largest allowed rise of a column's null fraction (absolute);
    ``min_row_ratio``: fewer rows than this share of the reference's is a collapse.
    """

    null_jump: float = 0.1
    min_row_ratio: float = 0.5

    def __post_init__(self) -> None:
        for key in ("null_jump", "min_row_ratio"):
            value = getattr(self, key)
            if type(value) not in (int, float) or not 0 <= value <= 1:
                raise InvalidArgument(f"threshold {key} must be a number in [0, 1], got {value!r}")


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One problem found; ``column`` is None for table-wide ones (row count)."""

    kind: str
    severity: Severity
    column: str | None
    expected: str
    observed: str
    message: str

    def __post_init__(self) -> None:
        if self.severity not in ("error", "warning"):
            raise InvalidArgument(f"severity must be 'error' or 'warning', got {self.severity!r}")
        if self.kind not in KINDS:
            raise InvalidArgument(f"unknown anomaly kind {self.kind!r}; one of {', '.join(KINDS)}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "column": self.column,
            "expected": self.expected,
            "observed": self.observed,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The anomalies found in a table of ``rows`` rows; it passes without errors."""

    anomalies: tuple[Anomaly, ...]
    rows: int

    @property
    def errors(self) -> tuple[Anomaly, ...]:
        """The error-level anomalies."""
        return tuple(anomaly for anomaly in self.anomalies if anomaly.severity == "error")

    @property
    def warnings(self) -> tuple[Anomaly, ...]:
        """The warning-level anomalies."""
        return tuple(anomaly for anomaly in self.anomalies if anomaly.severity == "warning")

    @property
    def passed(self) -> bool:
        """True when no anomaly is an error (warnings do not fail a report)."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "rows": self.rows,
            "passed": self.passed,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "anomalies": [anomaly.to_dict() for anomaly in self.anomalies],
        }


def validate(
    current: Profile,
    *,
    schema: Schema | None = None,
    reference: Profile | None = None,
    table: pa.Table | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Report:
    """Check the profile ``current`` against ``schema`` and/or ``reference``.

    ``table``, the table that ``current`` profiles, makes range and category
    counts exact; without it they come from the profile (its min, max and top
    values). A problem that the schema reports is not reported again from the
    reference.
    """
    if schema is None and reference is None:
        raise InvalidArgument("nothing to validate against: give a schema, a reference, or both")
    if table is not None and table.num_rows != current.rows:
        raise InvalidArgument(
            f"the table has {table.num_rows} rows but the profile {current.rows}: "
            "pass the table that was profiled"
        )
    found: list[Anomaly] = []
    if schema is not None:
        found += _against_schema(current, schema, table)
    if reference is not None:
        reported = {(anomaly.kind, anomaly.column) for anomaly in found}
        found += [
            anomaly
            for anomaly in _against_reference(current, reference, table, thresholds)
            if (anomaly.kind, anomaly.column) not in reported
        ]
    return Report(tuple(found), current.rows)


# -- against a schema -------------------------------------------------------------------


def _against_schema(current: Profile, schema: Schema, table: pa.Table | None) -> list[Anomaly]:
    found: list[Anomaly] = []
    for expected in schema.columns:
        column = current.column(expected.name)
        if column is None:
            found.append(_missing(expected.name, expected.type, "the schema"))
        else:
            found += _column_against_schema(expected, column, table)
    found += [
        _unexpected(column, "the schema")
        for column in current.columns
        if schema.column(column.name) is None
    ]
    return found


def _column_against_schema(
    expected: ColumnSchema, column: ColumnProfile, table: pa.Table | None
) -> list[Anomaly]:
    if not _compatible(expected.type, column):
        return [_type_mismatch(column, expected.type, "the schema")]
    found: list[Anomaly] = []
    if not expected.nullable and column.null_count:
        found.append(
            Anomaly(
                "null_values",
                "error",
                column.name,
                "no nulls",
                f"{column.null_count} nulls ({column.null_fraction:.2%} of rows)",
                f"column {column.name!r} has {column.null_count} nulls but the schema says it "
                "is not nullable; fill or drop them, or set nullable: true",
            )
        )
    if column.count == 0:  # no values to check
        return found
    low, high = _bound(expected.type, expected.min), _bound(expected.type, expected.max)
    found += _out_of_range(column, low, high, table, severity="error", against="the schema")
    if expected.categories is not None:
        found += _unseen(column, set(expected.categories), table, "error", "the schema")
    if expected.unique and column.distinct is not None and column.distinct < column.count:
        repeats = column.count - column.distinct
        found.append(
            Anomaly(
                "not_unique",
                "error",
                column.name,
                "every value different",
                f"{column.distinct} distinct values in {column.count}",
                f"column {column.name!r} should be unique but {repeats} values repeat "
                "an earlier one; remove the duplicates or set unique: false",
            )
        )
    return found


def _bound(column_type: str, value: int | float | str | None) -> Value | None:
    return None if value is None else parse_bound(column_type, value)


# -- against a reference profile --------------------------------------------------------


def _against_reference(
    current: Profile, reference: Profile, table: pa.Table | None, thresholds: Thresholds
) -> list[Anomaly]:
    found: list[Anomaly] = []
    if current.rows < thresholds.min_row_ratio * reference.rows:
        found.append(
            Anomaly(
                "row_count_collapse",
                "error",
                None,
                f"at least {thresholds.min_row_ratio * 100:g}% of the reference's "
                + plural(reference.rows, "row"),
                plural(current.rows, "row"),
                f"the table has {plural(current.rows, 'row')}, under "
                f"{thresholds.min_row_ratio * 100:g}% of the reference's {reference.rows:,}; "
                "check that the data is complete",
            )
        )
    for before in reference.columns:
        column = current.column(before.name)
        if column is None:
            found.append(_missing(before.name, before.logical_type, "the reference"))
        elif before.arrow_type != "null" and not _compatible(before.logical_type, column):
            found.append(_type_mismatch(column, before.logical_type, "the reference"))
        else:
            found += _column_against_reference(before, column, table, thresholds)
    found += [
        _unexpected(column, "the reference")
        for column in current.columns
        if reference.column(column.name) is None
    ]
    return found


def _column_against_reference(
    before: ColumnProfile, column: ColumnProfile, table: pa.Table | None, thresholds: Thresholds
) -> list[Anomaly]:
    found: list[Anomaly] = []
    rise = column.null_fraction - before.null_fraction
    if rise > thresholds.null_jump:
        found.append(
            Anomaly(
                "null_fraction_jump",
                "error",
                column.name,
                f"null fraction at most {before.null_fraction + thresholds.null_jump:.2%} "
                f"(reference {before.null_fraction:.2%})",
                f"{column.null_fraction:.2%}",
                f"column {column.name!r} is {column.null_fraction:.2%} null, up from "
                f"{before.null_fraction:.2%} in the reference; find where values are lost",
            )
        )
    if column.count == 0:  # no values to check
        return found
    if before.numeric is not None:
        low, high = (
            v if math.isfinite(v) else None for v in (before.numeric.min, before.numeric.max)
        )
        found += _out_of_range(
            column, low, high, table, severity="warning", against="the reference"
        )
    if before.complete_categories and before.top_values is not None and before.count:
        allowed = {value for value, _ in before.top_values}
        found += _unseen(column, allowed, table, "warning", "the reference")
    return found


# -- shared checks ----------------------------------------------------------------------


def _compatible(expected_type: str, column: ColumnProfile) -> bool:
    """Same logical type, integers in a float column, or no values at all (null type)."""
    return (
        column.logical_type == expected_type
        or (expected_type == "float" and column.logical_type == "integer")
        or column.arrow_type == "null"
    )


def _missing(name: str, column_type: str, against: str) -> Anomaly:
    return Anomaly(
        "missing_column",
        "error",
        name,
        f"{a_or_an(column_type)} column",
        "absent",
        f"column {name!r} of {against} is missing; add it to the data"
        + (" or remove it from the schema" if against == "the schema" else ""),
    )


def _unexpected(column: ColumnProfile, against: str) -> Anomaly:
    return Anomaly(
        "unexpected_column",
        "warning",
        column.name,
        "absent",
        f"{a_or_an(column.logical_type)} column",
        f"column {column.name!r} is not in {against}"
        + ("; add it to the schema if it belongs" if against == "the schema" else ""),
    )


def _type_mismatch(column: ColumnProfile, expected_type: str, against: str) -> Anomaly:
    return Anomaly(
        "type_mismatch",
        "error",
        column.name,
        expected_type,
        describe_type(column),
        f"column {column.name!r} holds {column.logical_type} values but {against} expects "
        f"{expected_type}; convert the column"
        + (" or correct the schema" if against == "the schema" else ""),
    )


def _out_of_range(
    column: ColumnProfile,
    low: Value | None,
    high: Value | None,
    table: pa.Table | None,
    *,
    severity: Severity,
    against: str,
) -> list[Anomaly]:
    observed = _observed_range(column)
    if observed is None or (low is None and high is None):
        return []
    seen_low, seen_high = observed
    below = low is not None and _before(seen_low, low)
    above = high is not None and _before(high, seen_high)
    if not (below or above):
        return []
    shown = f"[{_text(low, '-inf')}, {_text(high, 'inf')}]"
    if table is not None:
        counted = str(_count_outside(table.column(column.name), low, high))
    else:
        least = _least_outside(column, low, high)
        counted = f"at least {least}" if least else "some"
    extremes = f"observed min {_text(seen_low)}, max {_text(seen_high)}"
    message = (
        f"column {column.name!r} has {counted} values outside the range of {against} "
        f"{shown} ({extremes})"
    )
    if against == "the schema":
        message += "; correct the data, or widen the range if the values are valid"
    return [
        Anomaly(
            "out_of_range",
            severity,
            column.name,
            f"values in {shown}",
            f"{counted} values outside, {extremes}",
            message,
        )
    ]


def _observed_range(column: ColumnProfile) -> tuple[Value, Value] | None:
    if column.numeric is not None:
        return column.numeric.min, column.numeric.max
    if column.logical_type in ("date", "datetime") and column.earliest and column.latest:
        kind = column.logical_type
        return parse_bound(kind, column.earliest), parse_bound(kind, column.latest)
    return None


def _before(a: Value, b: Value) -> bool:
    """a < b, reading a datetime without time zone as UTC when the other has one."""
    if (
        isinstance(a, datetime)
        and isinstance(b, datetime)
        and (a.tzinfo is None) != (b.tzinfo is None)
    ):
        a, b = (x.replace(tzinfo=UTC) if x.tzinfo is None else x for x in (a, b))
    return bool(a < b)  # type: ignore[operator]


def _count_outside(values: pa.ChunkedArray, low: Value | None, high: Value | None) -> int:
    values = _plain(values)
    if pa.types.is_floating(values.type) or pa.types.is_decimal(values.type):
        values = values.cast(pa.float64())  # half floats and decimals have no comparisons
    masks = []
    if low is not None:
        masks.append(pc.less(values, _scalar(low, values.type)))
    if high is not None:
        masks.append(pc.greater(values, _scalar(high, values.type)))
    outside = masks[0] if len(masks) == 1 else pc.or_(masks[0], masks[1])
    return int(pc.sum(outside).as_py() or 0)


def _least_outside(column: ColumnProfile, low: Value | None, high: Value | None) -> int:
    """A lower bound of the values outside [low, high]: the histogram bins wholly outside."""
    histogram = column.numeric.histogram if column.numeric is not None else None
    if histogram is None:
        return 0
    edges, counts = histogram.edges, histogram.counts
    return sum(
        n
        for left, right, n in zip(edges, edges[1:], counts, strict=False)
        if (high is not None and _before(high, left)) or (low is not None and _before(right, low))
    )


def _scalar(value: Value, arrow_type: pa.DataType) -> pa.Scalar:
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return pa.scalar(value, type=arrow_type)
    return pa.scalar(value)


def _unseen(
    column: ColumnProfile,
    allowed: set[str],
    table: pa.Table | None,
    severity: Severity,
    against: str,
) -> list[Anomaly]:
    if table is not None:
        extra, exact = _unseen_in_table(table.column(column.name), allowed), True
    elif column.top_values is not None:
        extra = [(value, n) for value, n in column.top_values if value not in allowed]
        exact = column.complete_categories
    else:
        return []
    if not extra:
        return []
    total = sum(n for _, n in extra)
    listed = ", ".join(f"{value!r} ({n})" for value, n in extra[:5])
    more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
    least = "" if exact else "at least "
    observed = f"{least}{plural(total, 'value')} in {plural(len(extra), 'unseen category')}: "
    observed += listed + more
    message = f"column {column.name!r} has {observed}, not in {against}"
    if against == "the schema":
        message += "; correct the data, or add the categories to the schema if they are valid"
    expected = f"one of {plural(len(allowed), 'category')}"
    return [Anomaly("unseen_category", severity, column.name, expected, observed, message)]


def _unseen_in_table(values: pa.ChunkedArray, allowed: set[str]) -> list[tuple[str, int]]:
    """(value, count) of the values not in ``allowed``, most frequent first."""
    values = pc.drop_null(_plain(values))
    if pa.types.is_boolean(values.type):
        values = values.cast(pa.string())
    known = pa.array(sorted(allowed), type=values.type)
    counted = pc.value_counts(values.filter(pc.invert(pc.is_in(values, value_set=known))))
    pairs = zip(
        counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True
    )
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))


def _plain(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dictionary columns decoded to their values."""
    if pa.types.is_dictionary(values.type):
        return values.cast(values.type.value_type)
    return values


def _text(value: Value | None, missing: str = "") -> str:
    if value is None:
        return missing
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
