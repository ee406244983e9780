"""Request bodies checked against signatures: every bad one is a PayloadError, never a crash."""

from __future__ import annotations

import json
import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mloop.models import ColumnSpec, Signature
from mloop.serving.payload import FrameBuilder, Limits, Parser, PayloadError, merge

SIGNATURE = Signature(
    (
        ColumnSpec("age", "integer", nullable=False),
        ColumnSpec("income", "float", nullable=True),
        ColumnSpec("member", "boolean", nullable=False),
        ColumnSpec("city", "category", nullable=False, categories=("Oslo", "Rome")),
        ColumnSpec("note", "string", nullable=True),
        ColumnSpec("seen", "datetime", nullable=False),
    )
)
ROW = {
    "age": 41,
    "income": 5200.5,
    "member": True,
    "city": "Rome",
    "note": None,
    "seen": "2026-03-03T14:00:00",
}


def test_records_and_columns_give_the_same_frame() -> None:
    parser, build = Parser(SIGNATURE), FrameBuilder(SIGNATURE)
    records = parser.parse(orjson.dumps([ROW, {**ROW, "age": 7, "income": None}]))
    columns = parser.parse(orjson.dumps({k: [v, v] for k, v in ROW.items()}))
    frame = build(merge([records, columns]))
    assert list(frame.columns) == [spec.name for spec in SIGNATURE.inputs]
    assert frame["age"].tolist() == [41, 7, 41, 41]
    assert math.isnan(frame["income"][1]) and frame["seen"].dt.hour.tolist() == [14] * 4
    SIGNATURE.enforce(frame)  # the model gets what it expects


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        ({"age": 4.5}, "age", "a whole number"),
        ({"age": None}, "age", "a whole number"),
        ({"age": True}, "age", "a whole number"),
        ({"income": "5k"}, "income", "a number"),
        ({"member": 1}, "member", "true or false"),
        ({"city": ["Rome"]}, "city", "a category"),
        ({"note": 3}, "note", "a string"),
    ],
)
def test_a_wrong_value_names_its_field_and_type(change: dict, field: str, expected: str) -> None:
    with pytest.raises(PayloadError) as caught:
        Parser(SIGNATURE).parse(orjson.dumps([{**ROW, **change}]))
    assert caught.value.status == 422
    assert caught.value.errors[0]["field"] == field
    assert caught.value.errors[0]["expected"].startswith(expected)


def test_out_of_range_and_unparsable_values_are_422() -> None:
    huge = orjson.dumps([{**ROW, "age": 0}]).replace(b'"age":0', b'"age":' + str(2**70).encode())
    for body in (huge, orjson.dumps([{**ROW, "seen": "yesterday"}])):
        with pytest.raises(PayloadError) as caught:
            FrameBuilder(SIGNATURE)(Parser(SIGNATURE).parse(body))
        assert caught.value.status == 422


@pytest.mark.parametrize("number", [-(2**63) - 1, -(2**63) - 1000, 2**63, 2**64])
def test_a_whole_number_out_of_64_bits_is_422_not_clamped(number: int) -> None:
    """JSON numbers past 64 bits read as floats (-2**63-1 as exactly -2**63.0): such a
    value must be refused, not turned into the nearest number an int64 holds."""
    body = orjson.dumps([{**ROW, "age": 0}]).replace(b'"age":0', f'"age":{number}'.encode())
    with pytest.raises(PayloadError) as caught:
        FrameBuilder(SIGNATURE)(Parser(SIGNATURE).parse(body))
    assert caught.value.status == 422
    assert caught.value.errors[0]["field"] == "age" and "of 64 bits" in caught.value.message


def _dumps(value: object) -> bytes:
    return json.dumps(value).encode()  # also integers beyond 64 bits


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
rows = st.fixed_dictionaries({}, optional={k: json_values | st.just(v) for k, v in ROW.items()})
bodies = (
    st.lists(rows, max_size=4).map(_dumps)
    | st.dictionaries(st.sampled_from(list(ROW)), st.lists(json_values, max_size=3)).map(_dumps)
    | json_values.map(_dumps)
    | st.binary(max_size=40)
)


@settings(max_examples=400, deadline=None)
@given(body=bodies)
def test_any_body_is_rows_or_a_payload_error(body: bytes) -> None:
    parser, build = Parser(SIGNATURE, Limits(rows=3)), FrameBuilder(SIGNATURE)
    try:
        frame = build(parser.parse(body))
    except PayloadError as error:
        assert error.status in (400, 413, 422) and error.message
        return
    SIGNATURE.enforce(frame)
