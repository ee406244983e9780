"""Tabular files and in-memory tables, read into ``pyarrow.Table``.

CSV (and TSV), Parquet and JSON lines are recognised by their suffix. Reading
errors are translated into mloop errors that name the file and, for a
malformed CSV row or JSON line, its 1-based line number.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from mloop.errors import InvalidArgument, NotFound, PermissionDenied

TABULAR_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "json",
    ".ndjson": "json",
}
FORMATS = ("csv", "parquet", "json")


def table_format(path: str) -> str | None:
    """ "csv", "parquet" or "json" by the suffix of ``path`` (any case); None if not tabular."""
    return TABULAR_SUFFIXES.get(Path(path).suffix.lower())


def read_table(path: Path, fmt: str | None = None) -> pa.Table:
    """Read a tabular file; ``fmt`` defaults to what its suffix says.

    A ``.tsv`` file is read with a tab delimiter. In CSV, empty values and the
    usual null markers (``NA``, ``null``, ``NaN``...) are nulls, in string
    columns too, as pandas reads them. Errors: NotFound if there is
    no such file, PermissionDenied if it cannot be read, InvalidArgument if it
    is a folder, empty, or malformed (naming the line where that can be told).
    """
    path = Path(path)
    fmt = fmt if fmt is not None else table_format(path.name)
    if fmt is None:
        raise InvalidArgument(
            f"cannot tell the table format of {path} from its suffix; use one of "
            f"{', '.join(TABULAR_SUFFIXES)} or pass fmt ({', '.join(FORMATS)})"
        )
    if fmt not in FORMATS:
        raise InvalidArgument(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    _check_readable(path)
    try:
        if fmt == "parquet":
            return pq.read_table(path)
        if fmt == "json":
            return pajson.read_json(path)
        return _read_csv(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise _read_error(path, fmt, str(exc)) from None


def to_table(obj: Any) -> pa.Table:
    """``obj`` as a pyarrow.Table: a pyarrow.Table as is, or a pandas.DataFrame.

    A DataFrame's index becomes columns only if it is named (``df.set_index("id")``);
    a default or unnamed index is dropped.
    """
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pd.DataFrame):
        named = any(name is not None for name in obj.index.names)
        try:
            return pa.Table.from_pandas(obj, preserve_index=named)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            reason = "; ".join(str(arg) for arg in exc.args)
            raise InvalidArgument(
                f"cannot convert the DataFrame to a table: {reason}; give each column one type "
                "(for example with DataFrame.astype)"
            ) from None
        except ValueError as exc:  # duplicate column names
            raise InvalidArgument(f"cannot convert the DataFrame to a table: {exc}") from None
    raise InvalidArgument(
        f"expected a pandas.DataFrame or a pyarrow.Table, got {type(obj).__module__}."
        f"{type(obj).__qualname__}"
    )


def _read_csv(path: Path) -> pa.Table:
    """Multithreaded; quoted values spanning lines need a slower reader, tried on failure.

    The fast reader splits the file at newlines and fails (it does not misread)
    when a block boundary falls inside a quoted value.
    """
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    convert = pacsv.ConvertOptions(strings_can_be_null=True)
    try:
        options = pacsv.ParseOptions(delimiter=delimiter)
        return pacsv.read_csv(path, parse_options=options, convert_options=convert)
    except pa.ArrowInvalid as exc:
        if not str(exc).startswith(("CSV parse error", "CSV parser got out of sync")):
            raise
    options = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    return pacsv.read_csv(path, parse_options=options, convert_options=convert)


def _check_readable(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            first = handle.read(1)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"no file {path}: check the path") from None
    except IsADirectoryError:
        raise InvalidArgument(f"{path} is a folder, not a table file") from None
    except PermissionError:
        raise PermissionDenied(
            f"cannot read {path}: permission denied; check the file's permissions"
        ) from None
    if not first:
        raise InvalidArgument(f"{path} is empty: a table file needs at least a header or a row")


_JSON_TYPE_CHANGE = re.compile(r"Column\((?P<column>[^)]*)\) changed from (\w+) to (\w+)")


def _read_error(path: Path, fmt: str, message: str) -> InvalidArgument:
    """A clear error for what pyarrow could not read, with the line if it can be found."""
    detail = message.removeprefix("CSV parse error: ").removeprefix("JSON parse error: ")
    detail = detail.rsplit(" in row ", 1)[0].rstrip(".")
    if fmt == "parquet":
        return InvalidArgument(f"{path} is not a readable Parquet file: {detail}")
    if fmt == "csv" and "Empty CSV file" in message:
        return InvalidArgument(f"{path} has no header row: a CSV table needs one")
    if fmt == "csv" and message.startswith("CSV parse error"):
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        found = _bad_csv_row(path, delimiter)
        if found is not None:
            line, width, got = found
            return InvalidArgument(
                f"{path}: line {line} has {got} fields but the header has {width}; "
                f"fix that row (quote values containing {delimiter!r}) or remove it"
            )
    if fmt == "json":
        change = _JSON_TYPE_CHANGE.search(message)
        json_line = _bad_json_line(path, change.group("column") if change else None)
        if json_line is not None:
            return InvalidArgument(
                f"{path}: line {json_line}: {detail}; "
                "each line must be one JSON object, and a field must keep one type"
            )
    return InvalidArgument(f"cannot read {path} as {fmt}: {detail}")


def _bad_csv_row(path: Path, delimiter: str) -> tuple[int, int, int] | None:
    """(1-based line, header width, fields found) of the first row of the wrong width."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return None
        start = reader.line_num + 1
        for row in reader:  # only on the error path, to find the line
            if row and len(row) != len(header):
                return start, len(header), len(row)
            start = reader.line_num + 1
    return None


def _bad_json_line(path: Path, column: str | None) -> int | None:
    """The first line that is not a JSON object, or where ``column`` (/a/b) changes type."""
    kinds: set[str] = set()
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):  # only on the error path
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                return number
            if not isinstance(value, dict):
                return number
            if column is not None:
                kinds.add(_json_kind(value, column))
                kinds.discard("null")
                if len(kinds) > 1:
                    return number
    return None


def _json_kind(value: Any, column: str) -> str:
    for part in column.strip("/").split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__
