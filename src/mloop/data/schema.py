"""Dataset schemas: the columns a table must have and the values they may hold.

A :class:`Schema` is inferred from a profile (:func:`infer_schema`), edited by
hand as YAML (:meth:`Schema.to_yaml`, :meth:`Schema.from_yaml`), stored as JSON
(:meth:`Schema.to_dict`) and checked by ``mloop.data.validation``. Errors in a
schema name the column, the key and, in YAML, the line.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml

from mloop.data.profile import LOGICAL_TYPES, ColumnProfile, Profile, a_or_an
from mloop.errors import InvalidArgument

FORMAT = "mloop.schema/1"
KEYS = ("name", "type", "nullable", "min", "max", "categories", "unique")
MAX_CATEGORIES = 50
"""infer_schema lists the categories of string columns with at most this many values."""

Bound = int | float | str | None

_HEADER = f"""\
# mloop dataset schema ({FORMAT}): what each version of the dataset must satisfy.
# One entry per column, with these keys:
#   name        the column's name
#   type        {", ".join(LOGICAL_TYPES)}
#   nullable    false if no value may be missing (default true)
#   min, max    inclusive bounds: numbers, or ISO 8601 text for date and datetime columns
#   categories  the only values allowed, for string and boolean ("true", "false") columns
#   unique      true if no value may appear twice (default false)
# Remove a key to drop its check; integer values pass a float column.
"""


class _BadField(InvalidArgument):
    """A column's value for one key is wrong; ``key`` lets YAML errors name the line."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class ColumnSchema:
    """What one column must be; a ``None`` bound or ``categories`` is not checked.

    ``min``/``max`` are numbers for integer and float columns and ISO 8601 text
    for date and datetime columns. ``categories`` (string and boolean columns)
    lists every allowed value; a list is turned into a tuple.
    """

    name: str
    type: str
    nullable: bool = True
    min: Bound = None
    max: Bound = None
    categories: tuple[str, ...] | None = None
    unique: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise _BadField("name", f"a column name must be a non-empty string, got {self.name!r}")
        where = f"column {self.name!r}"
        if self.type not in LOGICAL_TYPES:
            raise _BadField(
                "type",
                f"{where}: unknown type {self.type!r}; use one of {', '.join(LOGICAL_TYPES)}",
            )
        for key in ("nullable", "unique"):
            if not isinstance(getattr(self, key), bool):
                raise _BadField(key, f"{where}: {key} must be true or false")
        _check_bounds(self, where)
        if self.categories is not None:
            object.__setattr__(self, "categories", _checked_categories(self, where))


@dataclass(frozen=True, slots=True)
class Schema:
    """The columns a table must have, in order (extra columns are reported, not refused)."""

    columns: tuple[ColumnSchema, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        counts = Counter(column.name for column in self.columns)
        twice = sorted(name for name, n in counts.items() if n > 1)
        if twice:
            raise InvalidArgument(f"the schema lists column {twice[0]!r} twice; keep one entry")

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> ColumnSchema | None:
        """The schema of column ``name``, or None if the schema does not list it."""
        return next((column for column in self.columns if column.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` reads it back."""
        return {"format": FORMAT, "columns": [_column_to_dict(c, full=True) for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Any) -> Schema:
        """Read :meth:`to_dict` output back; InvalidArgument says what is wrong."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidArgument(f'not an mloop schema: no "format": "{FORMAT}" field')
        raw = data.get("columns")
        if not isinstance(raw, list):
            raise InvalidArgument('not an mloop schema: "columns" is not a list')
        columns = []
        for index, item in enumerate(raw, start=1):
            if not isinstance(item, dict):
                raise InvalidArgument(f"schema column #{index} is not an object: {item!r:.80}")
            columns.append(_column_from_mapping(item))
        return cls(tuple(columns))

    def to_yaml(self) -> str:
        """Human-editable YAML with a commented header; :meth:`from_yaml` reads it back."""
        columns = [_column_to_dict(column, full=False) for column in self.columns]
        for column in columns:
            if "categories" in column:
                column["categories"] = _Flow(column["categories"])
        document = {"format": FORMAT, "columns": columns}
        body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        if any(char in body for char in _UNICODE_BREAKS):  # written raw, they read back as breaks
            body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=100)
        return _HEADER + body

    @classmethod
    def from_yaml(cls, text: str) -> Schema:
        """Parse a schema; InvalidArgument names the line and the key or column at fault."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            return cls(_columns_from_yaml(root))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = exc.problem or exc.context or "malformed YAML"
            raise InvalidArgument(f"the schema is not valid YAML{where}: {problem}") from None
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"the schema is not valid YAML: {exc}") from None


def infer_schema(profile: Profile) -> Schema:
    """A schema that the profiled table satisfies, as a starting point to edit.

    Every column gets its type and is nullable if it has nulls. Integer and
    float columns get their observed range as bounds (dates and datetimes do
    not: new data is usually later). String columns get their categories when
    the profile lists every value, there are at most :data:`MAX_CATEGORIES` of
    them and some value repeats. Integer and string columns without nulls whose
    values all differ (at least two) are unique.
    """
    return Schema(tuple(_infer_column(column) for column in profile.columns))


def _infer_column(column: ColumnProfile) -> ColumnSchema:
    low: Bound = None
    high: Bound = None
    if column.numeric is not None:  # infinities make no bound
        low = column.numeric.min if math.isfinite(column.numeric.min) else None
        high = column.numeric.max if math.isfinite(column.numeric.max) else None
    categories = None
    distinct = column.distinct or 0
    if (
        column.logical_type == "string"
        and column.complete_categories
        and column.top_values
        and distinct <= MAX_CATEGORIES
        and distinct < column.count
    ):
        categories = tuple(sorted(value for value, _ in column.top_values))
    unique = (
        column.logical_type in ("integer", "string")
        and column.null_count == 0
        and column.count >= 2
        and column.distinct == column.count
    )
    return ColumnSchema(
        column.name,
        column.logical_type,
        nullable=column.null_count > 0,
        min=low,
        max=high,
        categories=categories,
        unique=unique,
    )


# -- checks -----------------------------------------------------------------------------


def parse_bound(column_type: str, value: int | float | str) -> int | float | date | datetime:
    """A bound as a comparable value: the number, or the parsed date or datetime."""
    if column_type == "date":
        return date.fromisoformat(str(value))
    if column_type == "datetime":
        return datetime.fromisoformat(str(value))
    return float(value) if isinstance(value, str) else value


def _check_bounds(column: ColumnSchema, where: str) -> None:
    parsed = []
    for key in ("min", "max"):
        value = getattr(column, key)
        if value is None:
            continue
        if column.type in ("integer", "float"):
            if type(value) not in (int, float) or (
                type(value) is float and not math.isfinite(value)
            ):
                raise _BadField(key, f"{where}: {key} must be a finite number, got {value!r}")
        elif column.type in ("date", "datetime"):
            try:
                if not isinstance(value, str):
                    raise ValueError
                parse_bound(column.type, value)
            except ValueError:
                raise _BadField(
                    key, f"{where}: {key} must be ISO 8601 {column.type} text, got {value!r}"
                ) from None
        else:
            raise _BadField(key, f"{where}: {a_or_an(column.type)} column cannot have a {key}")
        parsed.append(parse_bound(column.type, value))
    try:
        if len(parsed) == 2 and parsed[0] > parsed[1]:  # type: ignore[operator]
            raise _BadField("max", f"{where}: min {column.min!r} is above max {column.max!r}")
    except TypeError:  # a naive and an aware datetime
        raise _BadField(
            "max", f"{where}: min and max must both have a time zone offset, or both none"
        ) from None


def _checked_categories(column: ColumnSchema, where: str) -> tuple[str, ...]:
    categories = column.categories
    if column.type not in ("string", "boolean"):
        raise _BadField(
            "categories", f"{where}: {a_or_an(column.type)} column cannot have categories"
        )
    if not isinstance(categories, Sequence) or isinstance(categories, str):
        raise _BadField("categories", f"{where}: categories must be a list of strings")
    if not all(isinstance(value, str) for value in categories):
        raise _BadField(
            "categories", f"{where}: categories must be strings, got {categories!r:.80}"
        )
    if len(set(categories)) != len(categories):
        raise _BadField("categories", f"{where}: categories list a value twice")
    if column.type == "boolean" and not set(categories) <= {"true", "false"}:
        raise _BadField("categories", f'{where}: boolean categories can only be "true", "false"')
    return tuple(categories)


def _column_from_mapping(data: dict[str, Any]) -> ColumnSchema:
    unknown = [key for key in data if key not in KEYS]
    if unknown:
        raise _BadField(
            str(unknown[0]),
            f"column {data.get('name', '?')!r}: unknown key {unknown[0]!r}; "
            f"a column has {', '.join(KEYS)}",
        )
    for key in ("name", "type"):
        if data.get(key) is None:
            raise _BadField(key, f"column {data.get('name', '?')!r} has no {key}")
    values = {key: value for key, value in data.items() if value is not None}
    values.setdefault("nullable", True)
    values.setdefault("unique", False)
    return ColumnSchema(**values)


def _column_to_dict(column: ColumnSchema, *, full: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": column.name,
        "type": column.type,
        "nullable": column.nullable,
        "min": column.min,
        "max": column.max,
        "categories": None if column.categories is None else list(column.categories),
        "unique": column.unique,
    }
    if full:
        return document
    # Short form: leave out unchecked bounds and categories, and unique: false.
    return {
        key: value
        for key, value in document.items()
        if value is not None and not (key == "unique" and value is False)
    }


# -- YAML -------------------------------------------------------------------------------

_NULL = "tag:yaml.org,2002:null"
_UNICODE_BREAKS = "\x85\u2028\u2029\ufeff"


class _Dumper(yaml.SafeDumper):
    """Block style for columns, flow style (``[a, b]``) for lists of categories."""


class _Flow(list[str]):
    """A list written in flow style."""


def _flow_list(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(_Flow, _flow_list)


def _columns_from_yaml(root: yaml.Node | None) -> tuple[ColumnSchema, ...]:
    if root is None:
        raise InvalidArgument("the schema is empty; it needs a 'columns:' list")
    if not isinstance(root, yaml.MappingNode):
        raise _at(root, "the schema must be a mapping with 'format' and 'columns' keys")
    columns_node: yaml.Node | None = None
    for key_node, value_node in root.value:
        key = key_node.value
        if key == "format":
            if value_node.value != FORMAT:
                raise _at(value_node, f"unknown schema format {value_node.value!r}; use {FORMAT}")
        elif key == "columns":
            columns_node = value_node
        else:
            raise _at(key_node, f"unknown key {key!r}; a schema has 'format' and 'columns'")
    if columns_node is None:
        raise InvalidArgument("the schema has no 'columns:' list")
    if not isinstance(columns_node, yaml.SequenceNode):
        raise _at(columns_node, "'columns' must be a list of columns ('- name: ...')")
    seen: set[str] = set()
    columns = []
    for item in columns_node.value:
        column = _column_from_yaml(item)
        if column.name in seen:
            raise _at(item, f"column {column.name!r} is listed twice; keep one entry")
        seen.add(column.name)
        columns.append(column)
    return tuple(columns)


def _column_from_yaml(node: yaml.Node) -> ColumnSchema:
    if not isinstance(node, yaml.MappingNode):
        raise _at(node, f"each column must be a mapping with keys {', '.join(KEYS)}")
    data: dict[str, Any] = {}
    lines: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in data:
            raise _at(key_node, f"key {key!r} appears twice in this column")
        lines[key] = key_node
        data[key] = _yaml_value(key, value_node)
    try:
        return _column_from_mapping(data)
    except _BadField as exc:
        raise _at(lines.get(exc.key, node), str(exc)) from None


def _yaml_value(key: str, node: yaml.Node) -> Any:
    """A key's value, keeping the text as written where YAML would retype it.

    Names, types and categories are text (``No`` stays "No", not false); date
    bounds stay ISO text.
    """
    if node.tag == _NULL and key != "name":
        return None
    if key in ("name", "type"):
        if not isinstance(node, yaml.ScalarNode):
            raise _at(node, f"{key} must be plain text")
        return node.value
    if key == "categories":
        if not isinstance(node, yaml.SequenceNode) or not all(
            isinstance(item, yaml.ScalarNode) for item in node.value
        ):
            raise _at(node, "categories must be a list of values ([a, b, c])")
        return [item.value for item in node.value]
    loader = yaml.SafeLoader("")
    try:
        value = loader.construct_document(node)
    finally:
        loader.dispose()
    if isinstance(value, date | datetime) and isinstance(node, yaml.ScalarNode):
        return node.value
    return value


def _at(node: yaml.Node, message: str) -> InvalidArgument:
    return InvalidArgument(f"schema line {node.start_mark.line + 1}: {message}")
