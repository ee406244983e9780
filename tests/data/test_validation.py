"""Validation against a schema and a reference profile (mloop.data.validation)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from files import bikes_csv
from mloop.data.profile import Profile, profile_table
from mloop.data.schema import ColumnSchema, Schema, infer_schema
from mloop.data.tables import read_table
from mloop.data.validation import Anomaly, Report, Thresholds, validate
from mloop.errors import InvalidArgument


@pytest.fixture(scope="module")
def bikes() -> pa.Table:
    return read_table(bikes_csv())


def year(table: pa.Table, number: int) -> pa.Table:
    return table.filter(pc.equal(pc.year(table["dteday"]), number))


def kinds(report: Report) -> set[tuple[str, str | None, str]]:
    return {(a.kind, a.column, a.severity) for a in report.anomalies}


def check(table: pa.Table, **kwargs: object) -> Report:
    return validate(profile_table(table), table=table, **kwargs)  # type: ignore[arg-type]


# -- the real bike-sharing data ---------------------------------------------------------


def test_2012_breaks_the_ranges_inferred_from_2011(bikes: pa.Table) -> None:
    first, second = year(bikes, 2011), year(bikes, 2012)
    schema = infer_schema(profile_table(first))
    report = check(second, schema=schema)
    # Bike use grew in 2012 and one day was hotter than any of 2011; nothing else changed.
    old, new = first.to_pandas(), second.to_pandas()
    outside = {
        name: int(((new[name] < old[name].min()) | (new[name] > old[name].max())).sum())
        for name in ("temp", "atemp", "hum", "windspeed", "casual", "registered", "cnt")
    }
    assert outside == {
        "temp": 2,
        "atemp": 0,
        "hum": 0,
        "windspeed": 0,
        "casual": 75,
        "registered": 450,
        "cnt": 470,
    }
    assert kinds(report) == {
        ("out_of_range", name, "error") for name in ("temp", "casual", "registered", "cnt")
    }
    cnt = next(a for a in report.anomalies if a.column == "cnt")
    assert cnt.expected == "values in [1, 651]"
    assert cnt.observed == "470 values outside, observed min 1, max 977"
    assert "widen the range if the values are valid" in cnt.message
    assert not report.passed and report.rows == second.num_rows == 8734


def test_without_the_table_counts_come_from_the_profile(bikes: pa.Table) -> None:
    first, second = year(bikes, 2011), year(bikes, 2012)
    report = validate(profile_table(second), schema=infer_schema(profile_table(first)))
    observed = {a.column: a.observed for a in report.anomalies}
    assert set(observed) == {"temp", "casual", "registered", "cnt"}
    # Histogram bins wholly above the old max give a lower bound of the exact 470.
    least = int(observed["cnt"].split()[2])
    assert observed["cnt"].startswith("at least ") and 0 < least <= 470
    assert observed["temp"].startswith("some values outside")


def test_2012_against_the_2011_reference_only_warns(bikes: pa.Table) -> None:
    first, second = year(bikes, 2011), year(bikes, 2012)
    report = check(second, reference=profile_table(first))
    assert kinds(report) == {
        ("out_of_range", name, "warning") for name in ("temp", "casual", "registered", "cnt")
    }
    assert report.passed and report.errors == () and len(report.warnings) == 4


def test_a_broken_copy_reports_each_anomaly(bikes: pa.Table, tmp_path: Path) -> None:
    first = year(bikes, 2011)
    frame = year(bikes, 2012).to_pandas()
    broken = frame.head(int(len(frame) * 0.4)).drop(columns="windspeed").reset_index(drop=True)
    broken.loc[::10, "weathersit"] = "Snow"
    broken.loc[::4, "hum"] = np.nan
    path = tmp_path / "broken.csv"
    broken.to_csv(path, index=False)
    table = read_table(path)

    report = check(table, schema=infer_schema(profile_table(first)), reference=profile_table(first))

    ranges = first.to_pandas()
    beyond = {
        ("out_of_range", name, "error")
        for name in ("temp", "casual", "registered", "cnt")
        if (broken[name] > ranges[name].max()).any()
    }
    assert len(beyond) >= 3  # 40% of 2012 still outgrows 2011
    assert kinds(report) == {
        ("missing_column", "windspeed", "error"),
        ("unseen_category", "weathersit", "error"),
        ("null_values", "hum", "error"),
        ("null_fraction_jump", "hum", "error"),
        ("row_count_collapse", None, "error"),
        *beyond,
    }
    found = {a.kind + ":" + str(a.column): a for a in report.anomalies}
    snow = found["unseen_category:weathersit"]
    snowy = len(range(0, len(broken), 10))
    assert snow.observed == f"{snowy:,} values in 1 unseen category: 'Snow' ({snowy})"
    assert "add the categories to the schema" in snow.message
    hum = found["null_values:hum"]
    assert hum.observed.startswith(f"{len(range(0, len(broken), 4))} nulls (25.0")
    assert found["row_count_collapse:None"].observed == f"{len(broken):,} rows"
    assert "windspeed" in found["missing_column:windspeed"].message
    json.dumps(report.to_dict(), allow_nan=False)


# -- each check on small tables ---------------------------------------------------------


def test_type_mismatch_stops_the_column_checks_but_int_in_float_passes() -> None:
    table = pa.table({"a": ["1", "2"], "b": [1, 2], "n": pa.array([None, None], pa.null())})
    schema = Schema(
        (
            ColumnSchema("a", "integer", min=5),
            ColumnSchema("b", "float", max=1.5),
            ColumnSchema("n", "string", categories=("x",)),
        )
    )
    report = check(table, schema=schema)
    assert kinds(report) == {("type_mismatch", "a", "error"), ("out_of_range", "b", "error")}
    mismatch = report.errors[0]
    assert (mismatch.expected, mismatch.observed) == ("integer", "string")
    assert "convert the column or correct the schema" in mismatch.message


def test_uniqueness_and_nulls() -> None:
    table = pa.table({"id": [1, 2, 2, None]})
    report = check(
        table, schema=Schema((ColumnSchema("id", "integer", nullable=False, unique=True),))
    )
    assert kinds(report) == {("null_values", "id", "error"), ("not_unique", "id", "error")}
    assert report.anomalies[1].observed == "2 distinct values in 3"


def test_unexpected_columns_only_warn() -> None:
    report = check(
        pa.table({"a": [1], "extra": [2]}), schema=Schema((ColumnSchema("a", "integer"),))
    )
    assert kinds(report) == {("unexpected_column", "extra", "warning")}
    assert report.passed


def test_categories_of_booleans_and_dictionary_columns_are_counted_exactly() -> None:
    colours = pa.array(["red", "blue", "teal", None, "teal", "pink"]).dictionary_encode()
    table = pa.table({"flag": [True, False, True, None, True, True], "colour": colours})
    schema = Schema(
        (
            ColumnSchema("flag", "boolean", categories=("true",)),
            ColumnSchema("colour", "string", categories=("red", "blue")),
        )
    )
    report = check(table, schema=schema)
    assert [a.observed for a in report.anomalies] == [
        "1 value in 1 unseen category: 'false' (1)",
        "3 values in 2 unseen categories: 'teal' (2), 'pink' (1)",
    ]


def test_profile_only_categories_are_a_lower_bound_when_the_top_list_is_cut() -> None:
    values = [f"v{n}" for n in range(1500)]
    profile = profile_table(pa.table({"s": values}))
    report = validate(profile, schema=Schema((ColumnSchema("s", "string", categories=("v0",)),)))
    assert report.anomalies[0].observed.startswith("at least 49 values in 49 unseen categories")


def test_date_and_datetime_ranges() -> None:
    utc = dt.UTC
    table = pa.table(
        {
            "day": pa.array([dt.date(2020, 1, 1), dt.date(2021, 6, 1), dt.date(2022, 1, 1)]),
            "at": pa.array(
                [dt.datetime(2024, 1, 1, tzinfo=utc), dt.datetime(2024, 1, 2, 12, tzinfo=utc)],
                pa.timestamp("ns", "UTC"),
            ).take([0, 1, 1]),
        }
    )
    schema = Schema(
        (
            ColumnSchema("day", "date", min="2021-01-01", max="2021-12-31"),
            ColumnSchema("at", "datetime", max="2024-01-02T00:00:00"),  # naive: read as UTC
        )
    )
    report = check(table, schema=schema)
    assert [(a.column, a.observed) for a in report.anomalies] == [
        ("day", "2 values outside, observed min 2020-01-01, max 2022-01-01"),
        (
            "at",
            "2 values outside, observed min 2024-01-01T00:00:00+00:00, "
            "max 2024-01-02T12:00:00+00:00",
        ),
    ]


def test_reference_checks_and_thresholds() -> None:
    reference = profile_table(
        pa.table({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], "s": ["a", "b"] * 5})
    )
    table = pa.table({"x": [1.0, 2.0, None, None], "s": ["a", "c", "a", None]})
    report = check(table, reference=reference)
    assert kinds(report) == {
        ("row_count_collapse", None, "error"),
        ("null_fraction_jump", "x", "error"),
        ("null_fraction_jump", "s", "error"),
        ("unseen_category", "s", "warning"),
    }
    lenient = check(
        table, reference=reference, thresholds=Thresholds(null_jump=0.5, min_row_ratio=0.4)
    )
    assert kinds(lenient) == {("unseen_category", "s", "warning")}


def test_a_column_missing_from_the_reference_or_retyped() -> None:
    reference = profile_table(pa.table({"a": [1, 2], "b": [1, 2]}))
    report = check(pa.table({"b": ["x", "y"], "c": [1, 2]}), reference=reference)
    assert kinds(report) == {
        ("missing_column", "a", "error"),
        ("type_mismatch", "b", "error"),
        ("unexpected_column", "c", "warning"),
    }


def test_the_schema_wins_over_the_reference_for_the_same_problem() -> None:
    reference = profile_table(pa.table({"a": [1, 2]}))
    schema = Schema((ColumnSchema("a", "integer"),))
    report = check(pa.table({"b": [1, 2]}), schema=schema, reference=reference)
    assert kinds(report) == {
        ("missing_column", "a", "error"),
        ("unexpected_column", "b", "warning"),
    }
    assert "remove it from the schema" in report.errors[0].message


def test_report_to_dict() -> None:
    report = check(pa.table({"a": [1]}), schema=Schema((ColumnSchema("b", "float"),)))
    assert report.to_dict() == {
        "rows": 1,
        "passed": False,
        "errors": 1,
        "warnings": 1,
        "anomalies": [a.to_dict() for a in report.anomalies],
    }
    assert report.to_dict()["anomalies"][0]["kind"] == "missing_column"


def test_validate_refuses_bad_calls() -> None:
    table = pa.table({"a": [1, 2]})
    profile = profile_table(table)
    with pytest.raises(InvalidArgument, match="nothing to validate against"):
        validate(profile)
    with pytest.raises(InvalidArgument, match="the table has 1 rows but the profile 2"):
        validate(profile, reference=profile, table=table.slice(0, 1))
    with pytest.raises(InvalidArgument, match="null_jump must be a number in"):
        Thresholds(null_jump=2)
    with pytest.raises(InvalidArgument, match="severity must be 'error' or 'warning'"):
        Anomaly("missing_column", "fatal", None, "", "", "")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="unknown anomaly kind"):
        Anomaly("weird", "error", None, "", "", "")


def test_a_round_tripped_profile_validates_the_same(bikes: pa.Table) -> None:
    first, second = year(bikes, 2011), year(bikes, 2012)
    stored = Profile.from_dict(json.loads(json.dumps(profile_table(first).to_dict())))
    assert check(second, reference=stored) == check(second, reference=profile_table(first))


def test_pandas_reads_the_same_anomalies(bikes: pa.Table) -> None:
    """The bike fixture read by pandas profiles like the one read by pyarrow."""
    frame = pd.read_csv(bikes_csv())
    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema = infer_schema(profile_table(bikes))
    report = check(table, schema=schema)
    # pandas keeps dteday as text: the only difference is that column's type.
    assert kinds(report) == {("type_mismatch", "dteday", "error")}


def test_a_column_that_was_all_null_may_get_values() -> None:
    reference = profile_table(pa.table({"note": pa.array([None, None], pa.null())}))
    assert check(pa.table({"note": ["late", None]}), reference=reference).anomalies == ()


def test_ranges_of_narrow_and_decimal_number_types() -> None:
    table = pa.table(
        {
            "half": pa.array(np.array([0.5, 1.5, 2.5], dtype=np.float16)),
            "money": pa.array([Decimal("1.25"), Decimal("9.99"), None], pa.decimal128(5, 2)),
            "small": pa.array([1, 200, 7], pa.uint8()),
        }
    )
    schema = Schema(
        (
            ColumnSchema("half", "float", max=2),
            ColumnSchema("money", "float", min=0, max=5),
            ColumnSchema("small", "integer", min=-1, max=100.5),
        )
    )
    observed = [a.observed.split(",")[0] for a in check(table, schema=schema).anomalies]
    assert observed == ["1 values outside"] * 3
