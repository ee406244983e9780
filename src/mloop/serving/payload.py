"""Request bodies of ``POST /predict``: JSON rows checked against a model's signature.

Two shapes are accepted::

    [{"age": 41, "income": 5200.0}, ...]        records, one object per row
    {"age": [41, 37], "income": [5200.0, 0.0]}  columns, one list per input

Every value is checked against its column's logical type before any model code
runs, so a wrong or missing field is answered with the field and the expected
type (HTTP 422), never with an error from deep inside the model. Fields the
signature does not name are ignored. ``null`` is a missing value, accepted in any
column but integer and boolean ones (which cannot hold one): models such as
LightGBM score missing values, others answer 422 with their own reason, and the
prediction log keeps them for the data-quality checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

from mloop.models.columns import BOOLEAN, CATEGORY, DATETIME, FLOAT, INTEGER, STRING, ColumnSpec
from mloop.models.signature import Signature

_NEVER_NULL = (INTEGER, BOOLEAN)
"""Types whose columns cannot hold a missing value; any other accepts null, whatever the
signature saw in training (it describes the data; the model decides what null means)."""

_INT64_LOW, _INT64_END = -(2**63), 2**63

_EXPECTED = {
    FLOAT: "a number",
    INTEGER: "a whole number of 64 bits",
    BOOLEAN: "true or false",
    STRING: "a string",
    CATEGORY: "a category (a string or a number)",
    DATETIME: "an ISO 8601 date-time string",
}


class PayloadError(Exception):
    """A request body that cannot be scored; ``status`` is 400 or 422."""

    def __init__(self, status: int, message: str, errors: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message}
        if self.errors:
            out["detail"] = self.errors
        return out


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request may hold (``--max-rows``, ``--max-string-length``)."""

    rows: int = 10_000
    string_length: int = 65_536
    """Characters in one text value: a row is copied into the prediction log and its
    journal, so one huge value must not cost the server its memory."""


DEFAULT_LIMITS = Limits()
_TEXT = (STRING, CATEGORY, DATETIME)


@dataclass(slots=True)
class Rows:
    """Checked input rows, column by column in signature order."""

    columns: dict[str, list[Any]]
    count: int


def field_error(row: int | None, name: str, expected: str, got: str) -> dict[str, Any]:
    loc: list[Any] = ["body", name] if row is None else ["body", row, name]
    return {"loc": loc, "field": name, "expected": expected, "msg": got}


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is float or kind is int


def _check_float(value: Any) -> bool:
    return _is_number(value)


def _check_integer(value: Any) -> bool:
    """An int of 64 bits, or a float with a whole value inside them: JSON reads a number past
    64 bits as a float, and -2**63-1 as exactly -2**63.0, which must not pass for -2**63."""
    kind = type(value)
    if kind is int:
        return bool(_INT64_LOW <= value < _INT64_END)
    return kind is float and value.is_integer() and bool(_INT64_LOW < value < _INT64_END)


def _check_boolean(value: Any) -> bool:
    return type(value) is bool


def _check_string(value: Any) -> bool:
    return type(value) is str


def _check_category(value: Any) -> bool:
    return type(value) in (str, int, float, bool)


_CHECKS: dict[str, Callable[[Any], bool]] = {
    FLOAT: _check_float,
    INTEGER: _check_integer,
    BOOLEAN: _check_boolean,
    STRING: _check_string,
    CATEGORY: _check_category,
    DATETIME: _check_string,
}


def _describe(value: Any) -> str:
    if value is None:
        return "got null, which a column of this type cannot hold"
    text = orjson.dumps(value).decode() if _jsonable(value) else repr(value)
    return f"got {type(value).__name__} {text[:60]}"


def _jsonable(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


class Parser:
    """Turns a request body into :class:`Rows` for one signature."""

    def __init__(self, signature: Signature, limits: Limits = DEFAULT_LIMITS) -> None:
        self.specs = signature.inputs
        self.names = [spec.name for spec in self.specs]
        self.limits = limits
        self._text = [spec.name for spec in self.specs if spec.type in _TEXT]
        self._checks = [
            (spec.name, _CHECKS[spec.type], spec.type not in _NEVER_NULL, spec)
            for spec in self.specs
        ]

    def parse(self, body: bytes) -> Rows:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(400, f"the body is not valid JSON: {exc}") from None
        if isinstance(data, list):
            return self.records(data)
        if isinstance(data, dict):
            return self.columnar(data)
        raise PayloadError(
            400,
            "the body is a list of row objects [{...}] or an object of columns {col: [...]}, "
            f"not a JSON {type(data).__name__}",
        )

    def records(self, data: list[Any]) -> Rows:
        self._count(len(data))
        errors: list[dict[str, Any]] = []
        columns: dict[str, list[Any]] = {name: [] for name in self.names}
        for i, record in enumerate(data):
            if type(record) is not dict:
                errors.append(field_error(i, "", "an object of fields", _describe(record)))
                continue
            for name, check, nullable, spec in self._checks:
                value = record.get(name, _MISSING)
                if value is _MISSING:
                    errors.append(field_error(i, name, _expected(spec), "field required"))
                elif not check(value) and not (value is None and nullable):
                    errors.append(field_error(i, name, _expected(spec), _describe(value)))
                else:
                    columns[name].append(value)
            if len(errors) >= 20:
                break
        if errors:
            raise PayloadError(422, _summary(errors), errors)
        _check_lengths({name: columns[name] for name in self._text}, self.limits, by_row=True)
        return Rows(columns, len(data))

    def columnar(self, data: dict[str, Any]) -> Rows:
        errors: list[dict[str, Any]] = []
        columns: dict[str, list[Any]] = {}
        lengths = set()
        for name, check, nullable, spec in self._checks:
            values = data.get(name, _MISSING)
            if values is _MISSING or type(values) is not list:
                got = "field required" if values is _MISSING else _describe(values)
                errors.append(field_error(None, name, f"a list of {_expected(spec)}", got))
                continue
            for i, value in enumerate(values):
                if not check(value) and not (value is None and nullable):
                    errors.append(field_error(i, name, _expected(spec), _describe(value)))
                    break
            columns[name] = values
            lengths.add(len(values))
        if errors:
            raise PayloadError(422, _summary(errors), errors)
        if len(lengths) > 1:
            raise PayloadError(
                422, f"the columns have different lengths ({sorted(lengths)}): one value per row"
            )
        count = lengths.pop()
        self._count(count)
        _check_lengths({name: columns[name] for name in self._text}, self.limits, by_row=False)
        return Rows(columns, count)

    def _count(self, count: int) -> None:
        if count == 0:
            raise PayloadError(400, "the batch is empty: send at least one row")
        if count > self.limits.rows:
            raise PayloadError(
                413, f"{count} rows in one request; the limit is {self.limits.rows} (--max-rows)"
            )


def _check_lengths(columns: dict[str, list[Any]], limits: Limits, *, by_row: bool) -> None:
    """Refuse text values longer than the limit, naming the field (422)."""
    cap = limits.string_length
    errors = []
    for name, values in columns.items():
        for i, value in enumerate(values):
            if type(value) is str and len(value) > cap:
                expected = f"a string of at most {cap} characters (--max-string-length)"
                got = f"got a string of {len(value)} characters"
                errors.append(field_error(i if by_row else None, name, expected, got))
                break
    if errors:
        raise PayloadError(422, _summary(errors), errors)


_MISSING = object()


def _expected(spec: ColumnSpec) -> str:
    return _EXPECTED[spec.type]


def _summary(errors: list[dict[str, Any]]) -> str:
    first = errors[0]
    where = f"row {first['loc'][1]}, " if len(first["loc"]) == 3 else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    field = f"field {first['field']!r}" if first["field"] else "a row"
    return f"{where}{field}: expected {first['expected']}, {first['msg']}{more}"


def merge(parts: Sequence[Rows]) -> Rows:
    """Several requests' rows as one batch (in order)."""
    if len(parts) == 1:
        return parts[0]
    columns: dict[str, list[Any]] = {name: [] for name in parts[0].columns}
    for part in parts:
        for name, values in part.columns.items():
            columns[name].extend(values)
    return Rows(columns, sum(part.count for part in parts))


class FrameBuilder:
    """Rows as the DataFrame a model takes: one float block when every input is a float."""

    def __init__(self, signature: Signature) -> None:
        self.specs = signature.inputs
        self.names = signature.input_names
        self.index = pd.Index(self.names, dtype=object)
        self.all_float = all(spec.type == FLOAT for spec in self.specs)

    def __call__(self, rows: Rows) -> pd.DataFrame:
        if self.all_float:
            block = np.array([rows.columns[name] for name in self.names], dtype=np.float64)
            return pd.DataFrame(block.T, columns=self.index, copy=False)
        data = {spec.name: _column(spec, rows.columns[spec.name]) for spec in self.specs}
        return pd.DataFrame(data, columns=self.index)


def _column(spec: ColumnSpec, values: list[Any]) -> Any:
    if spec.type == FLOAT:
        return np.array(values, dtype=np.float64)
    if spec.type == INTEGER:
        return np.array(values, dtype=np.int64)  # each checked to fit (_check_integer)
    if spec.type == BOOLEAN:
        return np.array(values, dtype=bool)
    if spec.type == DATETIME:
        try:
            return pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise PayloadError(
                422,
                f"field {spec.name!r}: expected an ISO 8601 date-time string ({exc})",
                [field_error(None, spec.name, _EXPECTED[DATETIME], str(exc)[:120])],
            ) from None
    return pd.Series(values, dtype=object)


def loose_parse(body: bytes, limits: Limits) -> Rows:
    """Rows for a model without a signature: any fields, checked by the model itself."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(400, f"the body is not valid JSON: {exc}") from None
    if isinstance(data, list):
        if not all(type(record) is dict for record in data):
            raise PayloadError(422, "every row of a list body is an object of fields")
        names = list(dict.fromkeys(name for record in data for name in record))
        columns = {name: [record.get(name) for record in data] for name in names}
        count = len(data)
    elif isinstance(data, dict) and all(type(v) is list for v in data.values()):
        lengths = {len(values) for values in data.values()}
        if len(lengths) > 1:
            raise PayloadError(422, "the columns have different lengths: one value per row")
        columns, count = data, (lengths.pop() if lengths else 0)
    else:
        raise PayloadError(
            400, "the body is a list of row objects [{...}] or an object of columns {col: [...]}"
        )
    if count == 0 or not columns:
        raise PayloadError(400, "the batch is empty: send at least one row")
    if count > limits.rows:
        raise PayloadError(413, f"{count} rows in one request; the limit is {limits.rows}")
    _check_lengths(columns, limits, by_row=isinstance(data, list))
    return Rows(columns, count)


def loose_frame(rows: Rows) -> pd.DataFrame:
    return pd.DataFrame(rows.columns)
