"""Profiles: statistics agree with plain numpy/pandas, and survive JSON (mloop.data.profile)."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mloop.data.profile import (
    QUANTILES,
    ColumnProfile,
    Profile,
    logical_type,
    profile_table,
)
from mloop.data.profile_diff import compare_profiles
from mloop.errors import InvalidArgument

# No example database: the tests leave no .hypothesis/ directory in the checkout.
PROPERTY = settings(database=None, deadline=None, max_examples=150)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
float_cells = st.lists(st.one_of(st.none(), st.just(math.nan), finite), max_size=60)
int_cells = st.lists(st.one_of(st.none(), st.integers(-(10**12), 10**12)), max_size=60)
text_cells = st.lists(st.one_of(st.none(), st.text("abcé", max_size=3)), max_size=60)


@st.composite
def chunked(draw: st.DrawFn, cells: list[Any], arrow_type: pa.DataType) -> pa.ChunkedArray:
    """``cells`` as a chunked array cut at random places."""
    cuts = sorted(draw(st.lists(st.integers(0, len(cells)), max_size=3)))
    bounds = [0, *cuts, len(cells)]
    parts = [pa.array(cells[a:b], type=arrow_type) for a, b in pairwise(bounds)]
    return pa.chunked_array(parts, type=arrow_type)


def profile_of(column: pa.ChunkedArray | pa.Array, name: str = "c") -> ColumnProfile:
    profile = profile_table(pa.table({name: column}))
    found = profile.column(name)
    assert found is not None
    return found


def close(value: float) -> Any:
    return pytest.approx(value, rel=1e-9, abs=1e-9)


@PROPERTY
@given(st.data(), float_cells)
def test_float_statistics_agree_with_numpy(data: st.DataObject, cells: list[float | None]) -> None:
    column = profile_of(data.draw(chunked(cells, pa.float64())))
    values = pd.Series(cells, dtype="float64").dropna().to_numpy()  # NaN counts as null
    assert (column.count, column.null_count) == (values.size, len(cells) - values.size)
    assert column.distinct == np.unique(values).size
    assert column.null_fraction == (column.null_count / len(cells) if cells else 0.0)
    if values.size == 0:
        assert column.numeric is None
        return
    stats = column.numeric
    assert stats is not None
    assert (stats.min, stats.max) == (values.min(), values.max())
    assert stats.mean == close(values.mean())
    assert stats.std == close(values.std())
    assert stats.quantiles == tuple(np.quantile(values, QUANTILES))
    assert stats.quantile(0.5) == close(float(np.median(values)))


@PROPERTY
@given(st.data(), int_cells)
def test_integer_statistics_agree_with_pandas(data: st.DataObject, cells: list[int | None]) -> None:
    column = profile_of(data.draw(chunked(cells, pa.int64())))
    series = pd.Series(cells, dtype="Int64").dropna()
    assert (column.count, column.null_count) == (len(series), len(cells) - len(series))
    assert column.distinct == series.nunique()
    if series.empty:
        assert column.numeric is None
        return
    stats = column.numeric
    assert stats is not None
    assert (stats.min, stats.max) == (int(series.min()), int(series.max()))
    assert type(stats.min) is int
    assert stats.mean == pytest.approx(float(series.mean()), rel=1e-9)
    assert stats.std == pytest.approx(float(series.std(ddof=0)), rel=1e-6, abs=1e-6)


@PROPERTY
@given(
    st.data(),
    st.lists(
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), finite), max_size=60
    ),
)
def test_histogram_counts_sum_to_the_non_null_count(
    data: st.DataObject, cells: list[float | None]
) -> None:
    column = profile_of(data.draw(chunked(cells, pa.float64())))
    values = pd.Series(cells, dtype="float64").dropna().to_numpy()
    if not np.isfinite(values).any():
        assert column.numeric is None or column.numeric.histogram is None
        return
    assert column.numeric is not None and column.numeric.histogram is not None
    edges, counts = column.numeric.histogram.edges, column.numeric.histogram.counts
    assert sum(counts) == column.count == values.size
    assert len(edges) == len(counts) + 1 and list(edges) == sorted(edges)
    if all(a < b for a, b in pairwise(edges)):
        # The documented way to bin new data on the same edges gives the same counts.
        again, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
        assert tuple(again.tolist()) == counts


@PROPERTY
@given(st.data(), text_cells)
def test_top_values_agree_with_value_counts(data: st.DataObject, cells: list[str | None]) -> None:
    column = profile_of(data.draw(chunked(cells, pa.string())))
    counts = pd.Series(cells, dtype=object).dropna().value_counts()
    assert column.distinct == len(counts)
    assert column.count + column.null_count == len(cells)
    assert column.top_values is not None and column.complete_categories
    assert dict(column.top_values) == {key: int(n) for key, n in counts.items()}
    order = [(-n, value) for value, n in column.top_values]
    assert order == sorted(order)  # most frequent first, ties by value


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(0, 30))

    def cells(strategy: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(st.one_of(st.none(), strategy), min_size=rows, max_size=rows))

    return pa.table(
        {
            "f": pa.array(cells(st.floats(allow_nan=True, allow_infinity=True)), pa.float64()),
            "i": pa.array(cells(st.integers(-(2**63), 2**63 - 1)), pa.int64()),
            "s": pa.array(cells(st.text(max_size=5)), pa.large_string()),
            "b": pa.array(cells(st.booleans()), pa.bool_()),
            "t": pa.array(
                cells(st.datetimes(timezones=st.just(dt.UTC))), pa.timestamp("us", "UTC")
            ),
            "d": pa.array(cells(st.dates()), pa.date32()),
        }
    )


@settings(PROPERTY, max_examples=50)
@given(tables())
def test_to_dict_from_dict_round_trips_through_strict_json(table: pa.Table) -> None:
    profile = profile_table(table)
    document = json.loads(json.dumps(profile.to_dict(), allow_nan=False))
    again = Profile.from_dict(document)
    assert again.to_dict() == document
    assert again.names == ("f", "i", "s", "b", "t", "d")


def test_an_empty_table_has_zero_counts() -> None:
    profile = profile_table(
        pa.table({"x": pa.array([], pa.float64()), "s": pa.array([], pa.string())})
    )
    x, s = profile.columns
    assert profile.rows == 0
    assert (x.count, x.null_count, x.distinct, x.null_fraction, x.numeric) == (0, 0, 0, 0.0, None)
    assert (s.top_values, s.complete_categories) == ((), True)
    assert profile_table(pa.table({})).columns == ()


def test_all_null_columns() -> None:
    table = pa.table(
        {
            "f": pa.array([None, math.nan], pa.float64()),
            "s": pa.array([None, None], pa.string()),
            "n": pa.array([None, None], pa.null()),
        }
    )
    f, s, n = profile_table(table).columns
    assert (f.count, f.null_count, f.null_fraction, f.numeric) == (0, 2, 1.0, None)
    assert (s.count, s.distinct, s.top_values) == (0, 0, ())
    assert (n.logical_type, n.arrow_type, n.count, n.distinct) == ("other", "null", 0, 0)


def test_dictionary_encoded_and_chunked_columns_profile_like_plain_ones() -> None:
    values = ["a", "b", None, "a", "c", "a"]
    plain = profile_of(pa.array(values))
    encoded = pa.chunked_array(
        [pa.array(values[:3]).dictionary_encode(), pa.array(values[3:]).dictionary_encode()]
    )
    profiled = profile_of(encoded)
    assert profiled.logical_type == "string"
    assert profiled.arrow_type.startswith("dictionary<values=string")
    assert (profiled.top_values, profiled.distinct, profiled.null_count) == (
        plain.top_values,
        plain.distinct,
        plain.null_count,
    )
    assert plain.top_values == (("a", 3), ("b", 1), ("c", 1))


def test_timestamps_and_dates_give_iso_extremes() -> None:
    stamps = pa.array(
        [
            dt.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC),
            None,
            dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
        ],
        pa.timestamp("ns", "UTC"),
    )
    days = pa.array([dt.date(2020, 5, 17), dt.date(2020, 5, 17), None], pa.date32())
    t, d = profile_table(pa.table({"t": stamps, "d": days})).columns
    assert (t.logical_type, t.earliest, t.latest) == (
        "datetime",
        "2023-01-01T00:00:00+00:00",
        "2024-03-01T12:00:00.123456+00:00",
    )
    assert (d.logical_type, d.earliest, d.latest, d.distinct) == (
        "date",
        "2020-05-17",
        "2020-05-17",
        1,
    )
    assert t.numeric is None and t.top_values is None


def test_booleans_are_categorical() -> None:
    column = profile_of(pa.array([True, False, True, None]))
    assert column.logical_type == "boolean"
    assert column.top_values == (("true", 2), ("false", 1))
    assert column.complete_categories and column.distinct == 2


def test_other_types() -> None:
    table = pa.table(
        {
            "bin": pa.array([b"x", b"y", b"x"]),
            "dec": pa.array([Decimal("1.5"), Decimal("2.5"), None], pa.decimal128(5, 2)),
            "lst": pa.array([[1], [2], None]),
            "big": pa.array(["a", "b", "a"], pa.large_string()),
        }
    )
    bin_, dec, lst, big = profile_table(table).columns
    assert (bin_.logical_type, bin_.distinct, bin_.top_values) == ("binary", 2, None)
    assert dec.logical_type == "float" and dec.numeric is not None and dec.numeric.mean == 2.0
    assert (lst.logical_type, lst.null_count) == ("other", 1)
    assert big.logical_type == "string" and big.top_values == (("a", 2), ("b", 1))


@pytest.mark.parametrize(
    ("arrow_type", "kind"),
    [
        (pa.int8(), "integer"),
        (pa.uint64(), "integer"),
        (pa.float16(), "float"),
        (pa.bool_(), "boolean"),
        (pa.large_string(), "string"),
        (pa.dictionary(pa.int32(), pa.string()), "string"),
        (pa.timestamp("s"), "datetime"),
        (pa.date64(), "date"),
        (pa.large_binary(), "binary"),
        (pa.time64("us"), "other"),
        (pa.struct([("a", pa.int8())]), "other"),
    ],
)
def test_logical_types(arrow_type: pa.DataType, kind: str) -> None:
    assert logical_type(arrow_type) == kind


def test_small_integer_ranges_get_one_bin_per_value() -> None:
    stats = profile_of(pa.array([0, 1, 1, 2, 9])).numeric
    assert stats is not None and stats.histogram is not None
    assert stats.histogram.edges == tuple(float(n) for n in range(11))
    assert stats.histogram.counts == (1, 2, 1, 0, 0, 0, 0, 0, 0, 1)


def test_infinities_count_in_min_max_and_the_end_bins() -> None:
    stats = profile_of(pa.array([-math.inf, 0.0, 1.0, math.inf])).numeric
    assert stats is not None and stats.histogram is not None
    assert (stats.min, stats.max) == (-math.inf, math.inf)
    assert stats.histogram.edges[0] == 0.0 and stats.histogram.edges[-1] == 1.0
    assert stats.histogram.counts[0] == 2 and stats.histogram.counts[-1] == 2


def test_many_distinct_values_keep_the_top_fifty() -> None:
    values = [f"v{n:04d}" for n in range(2000)] + ["v1999"] * 3 + ["v0500"] * 2
    column = profile_of(pa.array(values))
    assert column.distinct == 2000 and not column.complete_categories
    assert column.top_values is not None and len(column.top_values) == 50
    assert column.top_values[:3] == (("v1999", 4), ("v0500", 3), ("v0000", 1))


def test_duplicate_column_names_are_refused() -> None:
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    with pytest.raises(InvalidArgument, match="more than one column named 'a'"):
        profile_table(table)


def test_profile_table_wants_an_arrow_table() -> None:
    with pytest.raises(InvalidArgument, match=r"needs a pyarrow\.Table, got DataFrame; .*to_table"):
        profile_table(pd.DataFrame({"a": [1]}))


def test_column_lookup() -> None:
    profile = profile_table(pa.table({"a": [1], "b": ["x"]}))
    column = profile.column("b")
    assert column is not None and column.logical_type == "string"
    assert profile.column("zzz") is None
    with pytest.raises(InvalidArgument, match=r"no quantile at 0\.3"):
        profile.columns[0].numeric.quantile(0.3)  # type: ignore[union-attr]


def good_document() -> dict[str, Any]:
    return profile_table(pa.table({"x": [1.0, 2.0, None], "s": ["a", "b", "a"]})).to_dict()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("format"), "not an mloop profile"),
        (lambda d: d.update(columns={}), "'columns' must be a list"),
        (lambda d: d.update(rows=-1), "'rows' must be a non-negative integer"),
        (lambda d: d["columns"][0].pop("count"), "profile column 'x' has no 'count' field"),
        (lambda d: d["columns"][0].update(null_count="1"), "'null_count' must be a non-negative"),
        (lambda d: d["columns"][0].update(logical_type="money"), "unknown logical type 'money'"),
        (lambda d: d["columns"][0].update(count=5), "does not add up to 3 rows"),
        (lambda d: d["columns"][0]["numeric"].update(mean="high"), "'mean' must be a number"),
        (lambda d: d["columns"][0]["numeric"]["quantiles"].pop("p50"), "has no 'p50' field"),
        (lambda d: d["columns"][0]["numeric"]["histogram"]["counts"].pop(), "one more edge"),
        (
            lambda d: d["columns"][1].update(top_values=[["a", 2]]),
            "top value must be a JSON object",
        ),
        (lambda d: d["columns"][1].update(name=7), "'name' must be text"),
        (lambda d: d["columns"].append(d["columns"][0]), "more than one column named 'x'"),
    ],
)
def test_from_dict_names_what_is_wrong(mutate: Any, message: str) -> None:
    document = good_document()
    mutate(document)
    with pytest.raises(InvalidArgument, match=message):
        Profile.from_dict(document)


def test_from_dict_refuses_what_is_not_an_object() -> None:
    with pytest.raises(InvalidArgument, match="profile must be a JSON object, got list"):
        Profile.from_dict([1, 2])


def test_compare_profiles_reports_schema_changes_and_ranks_statistics() -> None:
    old = profile_table(
        pa.table(
            {
                "gone": [1, 2, 3, 4],
                "x": [1.0, 2.0, 3.0, 4.0],
                "y": [10.0, 11.0, 12.0, 13.0],
                "kind": ["a", "b", "a", "b"],
                "n": [1, 2, 3, 4],
            }
        )
    )
    new = profile_table(
        pa.table(
            {
                "x": [1.1, 2.1, 3.1, None],
                "y": [110.0, 111.0, 112.0, 113.0],
                "kind": ["a", "c", "c", "c"],
                "n": [1.0, 2.0, 3.0, 4.0],
                "added": ["z", "z", "z", "z"],
            }
        )
    )
    diff = compare_profiles(old, new)
    assert [(c.kind, c.column) for c in diff.schema_changes] == [
        ("column_removed", "gone"),
        ("column_added", "added"),
        ("type_changed", "n"),
    ]
    assert (
        diff.schema_changes[2].old == "integer (int64)"
        and diff.schema_changes[2].new == "float (double)"
    )
    ranked = [(c.kind, c.column) for c in diff.changes]
    assert ranked[0] == ("mean_shift", "y")  # 100 / std 1.118: far the largest
    assert {
        ("new_categories", "kind"),
        ("null_fraction", "x"),
        ("missing_categories", "kind"),
    } <= set(ranked)
    sizes = [c.size for c in diff.changes]
    assert sizes == sorted(sizes, reverse=True)
    new_categories = next(c for c in diff.changes if c.kind == "new_categories")
    assert new_categories.new == "'c' (75.00% of rows)"
    assert (diff.old_rows, diff.new_rows) == (4, 4)
    assert len(compare_profiles(old, new, limit=2).changes) == 2
    json.dumps(diff.to_dict(), allow_nan=False)


def test_compare_profiles_of_equal_profiles_finds_nothing() -> None:
    profile = profile_table(pa.table({"a": [1, 2, 2], "s": ["x", None, "y"]}))
    diff = compare_profiles(profile, profile)
    assert diff.schema_changes == () and diff.changes == ()


def test_compare_profiles_refuses_a_negative_limit() -> None:
    profile = profile_table(pa.table({"a": [1]}))
    with pytest.raises(InvalidArgument, match="limit must be a non-negative integer"):
        compare_profiles(profile, profile, limit=-1)
