"""Signatures: inferred from real data, kept as JSON, enforced before every prediction."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mloop.errors import InvalidArgument
from mloop.models import ColumnSpec, Signature, infer_signature

NAMES = st.text(alphabet="abcdefghij_", min_size=1, max_size=8)


def test_inferred_from_the_acs_data(acs: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = acs
    signature = infer_signature(X, y)
    specs = {spec.name: spec for spec in signature.inputs}
    assert signature.input_names == list(X.columns)
    assert specs["AGEP"] == ColumnSpec("AGEP", "float", nullable=False)
    assert specs["SEX"].type == "category"
    assert specs["SEX"].categories == ("1", "2")
    assert specs["SCHL"].categories == tuple(X["SCHL"].cat.categories)
    assert signature.outputs == (ColumnSpec("employed", "integer", nullable=False),)


def test_survives_json(acs: tuple[pd.DataFrame, pd.Series]) -> None:
    signature = infer_signature(*acs)
    again = Signature.from_dict(json.loads(json.dumps(signature.to_dict())))
    assert again == signature
    assert again.enforce(acs[0].head()).equals(acs[0].head())


def test_inferred_from_arrays_and_arrow_tables() -> None:
    from_numpy = infer_signature(np.zeros((3, 2)), np.array([0, 1, 1]))
    assert from_numpy.input_names == ["0", "1"]
    assert [s.type for s in from_numpy.inputs] == ["float", "float"]
    assert from_numpy.outputs == (ColumnSpec("output", "integer", nullable=False),)
    table = pa.table(
        {
            "city": pa.array(["a", "b", "a"]).dictionary_encode(),
            "name": ["x", None, "z"],
            "n": [1, 2, 3],
            "flag": [True, False, True],
            "at": pa.array([0, 1, 2], pa.timestamp("ms")),
        }
    )
    specs = {s.name: s for s in infer_signature(table).inputs}
    assert specs["city"] == ColumnSpec("city", "category", False, ("a", "b"))
    assert specs["name"] == ColumnSpec("name", "string", nullable=True)
    assert [specs[c].type for c in ("n", "flag", "at")] == ["integer", "boolean", "datetime"]


def test_a_column_no_type_describes_is_named() -> None:
    frame = pd.DataFrame({"ok": [1.0], "wait": pd.to_timedelta([1], unit="s")})
    with pytest.raises(InvalidArgument, match="column 'wait' holds timedelta64"):
        infer_signature(frame)


def test_bad_specs_are_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"unknown type 'double'.*integer, float"):
        ColumnSpec("x", "double")
    with pytest.raises(InvalidArgument, match="listed twice"):
        Signature((ColumnSpec("x", "float"), ColumnSpec("x", "integer")))
    with pytest.raises(InvalidArgument, match="only category columns"):
        ColumnSpec("x", "string", categories=("a",))
    with pytest.raises(InvalidArgument, match="categories must all be"):
        ColumnSpec("x", "category", categories=("a", 1))


# -- enforcement -------------------------------------------------------------------------------
def test_a_matching_frame_is_returned_as_it_is(acs: tuple[pd.DataFrame, pd.Series]) -> None:
    signature = infer_signature(acs[0])
    row = acs[0].iloc[[7]]
    assert signature.enforce(row) is row
    assert signature.enforce(row) is row  # and again, from the remembered dtypes
    fresh = pd.read_parquet(io.BytesIO(row.to_parquet()))
    assert fresh["SEX"].dtype is not row["SEX"].dtype  # new dtype objects, equal categories
    assert signature.enforce(fresh) is fresh


def test_missing_columns_are_all_named_with_their_type(
    acs: tuple[pd.DataFrame, pd.Series],
) -> None:
    signature = infer_signature(acs[0])
    with pytest.raises(InvalidArgument) as error:
        signature.enforce(acs[0].drop(columns=["AGEP", "SEX"]).head())
    message = str(error.value)
    assert "missing columns 'AGEP' (float), 'SEX' (category of string ('1', '2'))" in message


def test_a_column_of_the_wrong_type_is_named_with_expected_and_got() -> None:
    signature = Signature((ColumnSpec("age", "float"), ColumnSpec("n", "integer")))
    frame = pd.DataFrame({"age": ["forty"], "n": [1.5]})
    with pytest.raises(InvalidArgument) as error:
        signature.enforce(frame)
    message = str(error.value)
    assert "column 'age': expected float, got string (dtype str)" in message
    assert "column 'n': expected integer, got float (dtype float64)" in message
    assert "missing values turn an integer column into float" in message


def test_compatible_columns_are_converted_reordered_and_extras_dropped() -> None:
    signature = Signature(
        (
            ColumnSpec("x", "float"),
            ColumnSpec("when", "datetime"),
            ColumnSpec("size", "category", categories=("S", "M", "L")),
        )
    )
    frame = pd.DataFrame(
        {"size": ["L", "S", "XL"], "id": [1, 2, 3], "x": [1, 2, 3], "when": ["2024-03-03"] * 3}
    )
    out = signature.enforce(frame)
    assert list(out.columns) == ["x", "when", "size"]
    assert out["x"].dtype == np.float64 and out["x"].tolist() == [1.0, 2.0, 3.0]
    assert out["when"].dt.day.tolist() == [3, 3, 3]
    # the model's codes do not move; an unseen value is kept after the known categories
    assert list(out["size"].cat.categories) == ["S", "M", "L", "XL"]
    assert out["size"].cat.codes.tolist() == [2, 0, 3]
    assert "id" in frame  # the caller's frame is untouched


def test_text_sent_as_json_becomes_the_training_categorical(
    acs: tuple[pd.DataFrame, pd.Series],
) -> None:
    X = acs[0]
    signature = infer_signature(X)
    records = json.loads(X.head(50).to_json(orient="records"))
    out = signature.enforce(pd.DataFrame.from_records(records))
    for name in X.columns:
        assert out[name].dtype == X[name].dtype, name
    pd.testing.assert_frame_equal(out, X.head(50).reset_index(drop=True))


def test_numbers_are_not_taken_for_text_categories() -> None:
    signature = Signature((ColumnSpec("SEX", "category", categories=("1", "2")),))
    with pytest.raises(InvalidArgument, match=r"'SEX': expected category of string .* got integer"):
        signature.enforce(pd.DataFrame({"SEX": [1, 2]}))


def test_only_dataframes_are_taken() -> None:
    signature = Signature((ColumnSpec("x", "float"),))
    with pytest.raises(InvalidArgument, match="takes a pandas DataFrame, got ndarray"):
        signature.enforce(np.zeros((1, 1)))  # type: ignore[arg-type]


def test_columns_of_a_numpy_frame_match_by_their_text() -> None:
    signature = infer_signature(np.ones((2, 2)))
    frame = pd.DataFrame(np.ones((2, 2)))  # integer column labels 0 and 1
    assert signature.enforce(frame).columns.tolist() == ["0", "1"]


# -- properties --------------------------------------------------------------------------------
@st.composite
def _frames(draw: st.DrawFn) -> tuple[Signature, pd.DataFrame]:
    """A signature of float and integer columns, and a frame it accepts: columns shuffled,
    some float columns sent as integers, an extra column or not."""
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    kinds = draw(
        st.lists(st.sampled_from(["float", "integer"]), min_size=len(names), max_size=len(names))
    )
    rows = draw(st.integers(1, 5))
    columns = {}
    for name, kind in zip(names, kinds, strict=True):
        ints = draw(st.lists(st.integers(-1000, 1000), min_size=rows, max_size=rows))
        as_int = kind == "integer" or draw(st.booleans())
        columns[name] = np.array(ints, dtype="int64" if as_int else "float64")
    if draw(st.booleans()):
        columns["zz_extra"] = np.zeros(rows)
    order = draw(st.permutations(list(columns)))
    signature = Signature(tuple(ColumnSpec(n, k) for n, k in zip(names, kinds, strict=True)))
    return signature, pd.DataFrame({name: columns[name] for name in order})


@settings(max_examples=60, deadline=None)
@given(_frames())
def test_enforce_is_idempotent(case: tuple[Signature, pd.DataFrame]) -> None:
    signature, frame = case
    once = signature.enforce(frame)
    assert signature.enforce(once) is once
    assert once.columns.tolist() == signature.input_names


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["int8", "int16", "int32", "int64", "uint8", "uint32", "Int64"]),
    st.lists(st.integers(0, 127), min_size=1, max_size=20),
)
def test_any_integer_column_is_accepted_for_a_float_spec(dtype: str, values: list[int]) -> None:
    signature = Signature((ColumnSpec("x", "float"),))
    out = signature.enforce(pd.DataFrame({"x": pd.array(values, dtype=dtype)}))
    assert out["x"].dtype == np.float64
    assert out["x"].tolist() == [float(v) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_every_missing_column_is_named(data: st.DataObject) -> None:
    names = data.draw(st.lists(NAMES, min_size=1, max_size=8, unique=True))
    gone = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    signature = Signature(tuple(ColumnSpec(name, "float") for name in names))
    frame = pd.DataFrame({name: [1.0] for name in names if name not in gone})
    with pytest.raises(InvalidArgument) as error:
        signature.enforce(frame)
    message = str(error.value)
    for name in gone:
        assert re.search(rf"'{name}' \(float\)", message), (name, message)
    for name in set(names) - set(gone):
        assert f"'{name}' (float)" not in message
