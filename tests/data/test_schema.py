"""Schemas: inference from a profile, YAML for people, JSON for storage (mloop.data.schema)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mloop.data.profile import LOGICAL_TYPES, profile_table
from mloop.data.schema import ColumnSchema, Schema, infer_schema
from mloop.errors import InvalidArgument

# No example database: the tests leave no .hypothesis/ directory in the checkout.
PROPERTY = settings(database=None, deadline=None, max_examples=150)

# Any text but lone surrogates, which no encoding carries.
texts = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)


@st.composite
def column_schemas(draw: st.DrawFn, name: str) -> ColumnSchema:
    kind = draw(st.sampled_from(LOGICAL_TYPES))
    low: Any = None
    high: Any = None
    categories: tuple[str, ...] | None = None
    if kind in ("integer", "float"):
        number = st.integers(-(10**15), 10**15) if kind == "integer" else st.floats(-1e300, 1e300)
        low, high = sorted(draw(st.lists(number, min_size=2, max_size=2)))
        low, high = draw(st.sampled_from([(low, high), (low, None), (None, high)]))
    elif kind == "date":
        low = draw(st.dates(max_value=dt.date(2000, 1, 1))).isoformat()
    elif kind == "datetime":
        high = draw(st.datetimes()).isoformat()
    elif kind == "string":
        labels = st.lists(texts | st.sampled_from(["No", "null", "1"]), unique=True)
        categories = draw(st.none() | labels.map(tuple))
    elif kind == "boolean":
        categories = draw(st.sampled_from([None, ("true",), ("false", "true")]))
    return ColumnSchema(
        name=name,
        type=kind,
        nullable=draw(st.booleans()),
        min=low,
        max=high,
        categories=categories,
        unique=draw(st.booleans()),
    )


@st.composite
def schemas(draw: st.DrawFn) -> Schema:
    names = draw(
        st.lists(
            texts | st.sampled_from(["true", "No", "2024-01-01", "1"]), unique=True, max_size=6
        )
    )
    return Schema(tuple(draw(column_schemas(name)) for name in names))


@PROPERTY
@given(schemas())
def test_yaml_round_trip(schema: Schema) -> None:
    text = schema.to_yaml()
    assert text.startswith("# mloop dataset schema")
    assert Schema.from_yaml(text) == schema


@PROPERTY
@given(schemas())
def test_dict_round_trip_through_json(schema: Schema) -> None:
    document = json.loads(json.dumps(schema.to_dict(), allow_nan=False))
    assert Schema.from_dict(document) == schema


def bike_like_table() -> pa.Table:
    rows = 60
    return pa.table(
        {
            "id": pa.array(range(rows)),
            "season": pa.array(["spring", "summer", "fall"] * 20),
            "name": pa.array([f"rider {n}" for n in range(rows)]),
            "temp": pa.array([float(n) / 2 if n % 7 else None for n in range(rows)]),
            "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=n) for n in range(rows)]),
            "cnt": pa.array([n % 5 for n in range(rows)]),
            "flag": pa.array([n % 2 == 0 for n in range(rows)]),
            "many": pa.array([f"v{n % 55}" for n in range(rows)]),
        }
    )


def test_infer_schema_from_a_profile() -> None:
    schema = infer_schema(profile_table(bike_like_table()))
    assert schema.names == ("id", "season", "name", "temp", "day", "cnt", "flag", "many")
    by_name = {column.name: column for column in schema.columns}
    assert by_name["id"] == ColumnSchema(
        "id", "integer", nullable=False, min=0, max=59, unique=True
    )
    assert by_name["season"].categories == ("fall", "spring", "summer")
    assert not by_name["season"].unique
    # Every value different: an identifier, not a category.
    assert by_name["name"] == ColumnSchema("name", "string", nullable=False, unique=True)
    assert by_name["temp"] == ColumnSchema("temp", "float", nullable=True, min=0.5, max=29.5)
    # Dates get no range: new data is usually later.
    assert by_name["day"] == ColumnSchema("day", "date", nullable=False)
    assert by_name["cnt"] == ColumnSchema("cnt", "integer", nullable=False, min=0, max=4)
    assert by_name["flag"] == ColumnSchema("flag", "boolean", nullable=False)
    assert by_name["many"].categories is None  # 55 values: more than 50


def test_infer_schema_of_an_all_null_column_and_an_empty_table() -> None:
    schema = infer_schema(
        profile_table(
            pa.table({"n": pa.array([None, None]), "e": pa.array([None, None], pa.string())})
        )
    )
    assert schema.columns == (ColumnSchema("n", "other"), ColumnSchema("e", "string"))


def test_yaml_is_readable_and_keeps_category_text() -> None:
    schema = Schema(
        (
            ColumnSchema("holiday", "string", nullable=False, categories=("No", "Yes")),
            ColumnSchema("cnt", "integer", min=0, max=977),
            ColumnSchema("day", "date", min="2011-01-01"),
        )
    )
    text = schema.to_yaml()
    assert (
        "- name: holiday\n  type: string\n  nullable: false\n  categories: ['No', 'Yes']\n" in text
    )
    assert "  min: 0\n  max: 977\n" in text
    edited = text.replace("['No', 'Yes']", "[No, Yes, off]").replace("'2011-01-01'", "2011-01-01")
    again = Schema.from_yaml(edited)
    assert again.columns[0].categories == ("No", "Yes", "off")  # not YAML 1.1 booleans
    assert again.columns[2].min == "2011-01-01"


def test_hand_written_yaml_with_defaults() -> None:
    schema = Schema.from_yaml(
        "columns:\n  - name: a\n    type: float\n    min: 1\n  - {name: b, type: string}\n"
    )
    assert schema.columns == (ColumnSchema("a", "float", min=1), ColumnSchema("b", "string"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: [\n  {name: a\n", r"not valid YAML at line 3"),
        (
            "columns:\n  - name: a\n    type: money\n",
            r"line 3: column 'a': unknown type 'money'; use one of integer, float",
        ),
        (
            "columns:\n  - name: a\n    type: float\n    colour: red\n",
            r"line 4: column 'a': unknown key 'colour'",
        ),
        (
            "columns:\n  - name: a\n    type: float\n    min: low\n",
            r"line 4: column 'a': min must be a finite number, got 'low'",
        ),
        (
            "columns:\n  - name: a\n    type: float\n    min: 5\n    max: 1\n",
            r"line 5: column 'a': min 5 is above max 1",
        ),
        (
            "columns:\n  - name: a\n    type: integer\n    categories: [x]\n",
            r"line 4: column 'a': an integer column cannot have categories",
        ),
        (
            "columns:\n  - name: a\n    type: date\n    max: tomorrow\n",
            r"line 4: column 'a': max must be ISO 8601 date text",
        ),
        (
            "columns:\n  - name: a\n    type: string\n    nullable: maybe\n",
            r"line 4: column 'a': nullable must be true or false",
        ),
        (
            "columns:\n  - name: a\n  - name: b\n    type: float\n",
            r"line 2: column 'a' has no type",
        ),
        ("columns:\n  - name: a\n    type: ~\n", r"line 3: column 'a' has no type"),
        (
            "columns:\n  - {name: a, type: float}\n  - {name: a, type: float}\n",
            r"line 3: column 'a' is listed twice",
        ),
        ("columns:\n  - name: a\n    name: b\n", r"line 3: key 'name' appears twice"),
        ("columns:\n  - just text\n", r"line 2: each column must be a mapping"),
        ("columns: {a: float}\n", r"line 1: 'columns' must be a list"),
        ("colums:\n  - name: a\n", r"line 1: unknown key 'colums'"),
        (
            "format: mloop.schema/9\ncolumns: []\n",
            r"line 1: unknown schema format 'mloop.schema/9'",
        ),
        ("- a\n- b\n", r"line 1: the schema must be a mapping"),
        ("", r"the schema is empty"),
        ("format: mloop.schema/1\n", r"the schema has no 'columns:' list"),
        (
            "columns:\n  - name: a\n    type: string\n    categories: oops\n",
            r"line 4: categories must be a list",
        ),
        (
            "columns:\n  - name: a\n    type: float\n    min: !!python/object:os.system x\n",
            r"not valid YAML at line 4",
        ),
    ],
)
def test_bad_yaml_names_the_line_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Schema.from_yaml(text)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "not an mloop schema"),
        ({"format": "mloop.schema/1", "columns": "a"}, '"columns" is not a list'),
        ({"format": "mloop.schema/1", "columns": [1]}, "schema column #1 is not an object"),
        (
            {"format": "mloop.schema/1", "columns": [{"name": "a", "type": "text"}]},
            "unknown type 'text'",
        ),
        (
            {"format": "mloop.schema/1", "columns": [{"name": "", "type": "float"}]},
            "non-empty string",
        ),
        (
            {"format": "mloop.schema/1", "columns": [{"name": "a", "type": "float", "min": True}]},
            "finite number",
        ),
    ],
)
def test_from_dict_names_what_is_wrong(document: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Schema.from_dict(document)


def test_column_schema_checks_itself() -> None:
    with pytest.raises(InvalidArgument, match="boolean categories can only be"):
        ColumnSchema("b", "boolean", categories=("yes",))
    with pytest.raises(InvalidArgument, match="categories list a value twice"):
        ColumnSchema("s", "string", categories=("a", "a"))
    with pytest.raises(InvalidArgument, match="a string column cannot have a min"):
        ColumnSchema("s", "string", min=1)
    with pytest.raises(InvalidArgument, match="both have a time zone offset"):
        ColumnSchema("t", "datetime", min="2024-01-01T00:00:00+00:00", max="2024-02-01T00:00:00")
    with pytest.raises(InvalidArgument, match="lists column 'a' twice"):
        Schema((ColumnSchema("a", "float"), ColumnSchema("a", "string")))
    assert ColumnSchema("s", "string", categories=["x"]).categories == ("x",)  # type: ignore[arg-type]


def test_column_lookup() -> None:
    schema = Schema((ColumnSchema("a", "float"),))
    assert schema.column("a") == ColumnSchema("a", "float")
    assert schema.column("b") is None
    assert schema.names == ("a",)


def test_unicode_stays_readable_and_line_breaks_survive() -> None:
    plain = Schema((ColumnSchema("Zürich", "string", categories=("café",)),))
    assert "name: Zürich" in plain.to_yaml() and "[café]" in plain.to_yaml()
    tricky = Schema((ColumnSchema("a\x85b", "string", categories=("x\u2028y",)),))
    assert Schema.from_yaml(tricky.to_yaml()) == tricky
