"""Reading tabular files and converting in-memory tables (mloop.data.tables)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mloop.data.tables import read_table, table_format, to_table
from mloop.errors import InvalidArgument, NotFound, PermissionDenied


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("dir/B.TSV", "csv"),
        ("x.parquet", "parquet"),
        ("x.PQ", "parquet"),
        ("rows.jsonl", "json"),
        ("rows.ndjson", "json"),
        ("notes.txt", None),
        ("data.json", None),
        ("csv", None),
    ],
)
def test_table_format_goes_by_suffix_in_any_case(name: str, fmt: str | None) -> None:
    assert table_format(name) == fmt


def test_csv_is_read_with_inferred_types_and_nulls(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,score,name,day\n1,0.5,ann,2024-01-02\n2,,,2024-01-03\n3,NA,bob,\n")
    table = read_table(path)
    assert table.schema.types == [pa.int64(), pa.float64(), pa.string(), pa.date32()]
    assert table.to_pydict()["score"] == [0.5, None, None]
    assert table.to_pydict()["name"] == ["ann", None, "bob"]  # empty text is null, as in pandas
    assert table.column("day").null_count == 1


def test_tsv_uses_a_tab_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n1\tx,y\n")
    assert read_table(path).to_pydict() == {"a": [1], "b": ["x,y"]}


def test_parquet_and_json_lines_are_read(tmp_path: Path) -> None:
    table = pa.table({"a": [1, 2], "b": ["x", None]})
    pq.write_table(table, tmp_path / "t.parquet")
    (tmp_path / "t.jsonl").write_text('{"a": 1, "b": "x"}\n{"a": 2, "b": null}\n')
    assert read_table(tmp_path / "t.parquet").equals(table)
    assert read_table(tmp_path / "t.jsonl").to_pydict() == table.to_pydict()


def test_fmt_overrides_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text("a,b\n1,2\n")
    assert read_table(path, "csv").num_rows == 1


def test_a_malformed_csv_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(
        InvalidArgument, match=r"bad\.csv: line 3 has 3 fields but the header has 2"
    ):
        read_table(path)


def test_the_line_number_counts_quoted_values_spanning_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('a,b\n1,2\n"two\nlines",3\n\n4\n')
    with pytest.raises(InvalidArgument, match="line 6 has 1 fields"):
        read_table(path)


def test_quoted_newlines_across_read_blocks_are_read_right(tmp_path: Path) -> None:
    # Over 1 MiB, so the fast multithreaded reader splits the file inside a value.
    rows = [f'{i},"first line\nsecond {i}"' for i in range(60_000)]
    path = tmp_path / "notes.csv"
    path.write_text("id,note\n" + "\n".join(rows) + "\n")
    table = read_table(path)
    assert table.num_rows == 60_000
    assert table.column("note")[59_999].as_py() == "first line\nsecond 59999"


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.touch()
    with pytest.raises(InvalidArgument, match=r"empty\.csv is empty"):
        read_table(path)


def test_a_csv_of_blank_lines_has_no_header(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n")
    with pytest.raises(InvalidArgument, match="no header row"):
        read_table(path)


def test_a_header_only_csv_is_an_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b\n")
    table = read_table(path)
    assert table.num_rows == 0 and table.column_names == ["a", "b"]


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"no file .*nope\.csv: check the path"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "file").touch()
    with pytest.raises(NotFound, match="no file"):
        read_table(tmp_path / "file" / "below.csv")


def test_a_folder_is_not_a_table_file(tmp_path: Path) -> None:
    (tmp_path / "looks.csv").mkdir()
    with pytest.raises(InvalidArgument, match=r"looks\.csv is a folder"):
        read_table(tmp_path / "looks.csv")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "secret.csv"
    path.write_text("a\n1\n")
    path.chmod(0)
    try:
        with pytest.raises(PermissionDenied, match=r"secret\.csv: permission denied"):
            read_table(path)
    finally:
        path.chmod(0o600)


def test_an_unknown_suffix_says_which_are_known(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(InvalidArgument, match=r"from its suffix; use one of \.csv, \.tsv"):
        read_table(path)
    with pytest.raises(InvalidArgument, match="format 'excel' is not one of csv, parquet, json"):
        read_table(path, "excel")


def test_a_file_that_is_not_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidArgument, match=r"fake\.parquet is not a readable Parquet file"):
        read_table(path)


def test_a_malformed_json_line_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2\n{"a": 3}\n')
    with pytest.raises(InvalidArgument, match=r"bad\.jsonl: line 3: "):
        read_table(path)


def test_a_json_field_changing_type_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"a": 1}\n{"a": null}\n{"a": "x"}\n')
    with pytest.raises(
        InvalidArgument, match=r"line 3: Column\(/a\) changed from number to string"
    ):
        read_table(path)


def test_to_table_drops_an_unnamed_index_and_keeps_a_named_one() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]}, index=[10, 20])
    assert to_table(frame).column_names == ["x"]
    named = frame.rename_axis("id")
    assert to_table(named).to_pydict() == {"x": [1.0, 2.0], "id": [10, 20]}


def test_to_table_returns_a_table_as_is() -> None:
    table = pa.table({"a": [1]})
    assert to_table(table) is table


def test_to_table_refuses_other_objects_listing_what_it_accepts() -> None:
    with pytest.raises(InvalidArgument, match=r"pandas\.DataFrame or a pyarrow\.Table, got .*list"):
        to_table([{"a": 1}])


def test_to_table_names_a_column_of_mixed_types() -> None:
    with pytest.raises(InvalidArgument, match=r"column a .*give each column one type"):
        to_table(pd.DataFrame({"a": [1, "x"]}, dtype=object))
