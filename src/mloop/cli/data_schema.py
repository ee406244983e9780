"""``mloop data schema`` and ``mloop data validate``: declare what data must look like, check it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import state
from mloop.data import Report, Schema
from mloop.data.client import DataClient
from mloop.data.profile import plural
from mloop.data.refs import is_local
from mloop.data.validation import DEFAULT_THRESHOLDS, Thresholds
from mloop.errors import CHECKS_FAILED, InvalidArgument, NotFound, PermissionDenied

schema_app = typer.Typer(
    help="Infer, attach and show dataset schemas (YAML).", no_args_is_help=True
)


@schema_app.command("infer")
def infer(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="A tabular version: NAME, NAME@3, ...")],
) -> None:
    """Print a schema (YAML) that a version satisfies: edit it, then `schema set`.

    Example: mloop data schema infer bikes@1 > schema.yaml
    """
    st = state(ctx)
    st.console.out(st.data().infer_schema(ref).to_yaml(), end="", highlight=False)


@schema_app.command("set")
def set_schema(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    file: Annotated[str, typer.Argument(help="Schema YAML file (see `schema infer`).")],
) -> None:
    """Attach a schema to a dataset; `data validate` checks versions against it.

    Example: mloop data schema set bikes schema.yaml
    """
    st = state(ctx)
    schema = _read_schema(file)
    st.data().set_schema(name, schema)
    st.console.print(f"Attached a schema of {len(schema.columns)} columns to {escape(name)}.")


@schema_app.command("show")
def show_schema(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
) -> None:
    """Print the schema attached to a dataset (YAML).

    Example: mloop data schema show bikes
    """
    st = state(ctx)
    schema = st.data().schema(name)
    if schema is None:
        raise NotFound(f"dataset {name!r} has no schema: attach one with `mloop data schema set`")
    st.console.out(schema.to_yaml(), end="", highlight=False)


@schema_app.command("remove")
def remove_schema(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
) -> None:
    """Detach the schema from a dataset.

    Example: mloop data schema remove bikes
    """
    st = state(ctx)
    data = st.data()
    if data.schema(name) is None:
        st.console.print(f"{escape(name)} has no schema; nothing to remove.")
        return
    data.set_schema(name, None)
    st.console.print(f"Removed the schema of {escape(name)}.")


def validate_command(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="A version (bikes@2), or a local CSV, Parquet or JSON-lines file or folder."
        ),
    ],
    schema_file: Annotated[
        str | None,
        typer.Option(
            "--schema", metavar="FILE", help="Schema YAML (default: the dataset's attached schema)."
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference", "-r", help="Compare with this version's profile, e.g. bikes@1."
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", "-d", help="For local data: use this dataset's attached schema."),
    ] = None,
    max_null_increase: Annotated[
        float,
        typer.Option(
            "--max-null-increase", min=0, max=1, help="Largest allowed rise of a null fraction."
        ),
    ] = DEFAULT_THRESHOLDS.null_jump,
    min_row_ratio: Annotated[
        float,
        typer.Option(
            "--min-row-ratio",
            min=0,
            max=1,
            help="A collapse is fewer rows than this share of the reference's.",
        ),
    ] = DEFAULT_THRESHOLDS.min_row_ratio,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check data against a schema and/or a reference version; exit 9 on any error.

    Finds missing or unexpected columns, type changes, values out of range,
    unseen categories, null-fraction jumps and row-count collapse. Each
    anomaly has a severity: errors fail the command (for CI), warnings do not.
    TARGET is local data when it contains a '/' or ends in a data suffix
    (.csv, .parquet, ...); otherwise it names a version.

    Example: mloop data validate bikes@2 --reference bikes@1

    Example: mloop data validate incoming/new.csv --dataset bikes
    """
    st = state(ctx)
    schema = _read_schema(schema_file) if schema_file else None
    thresholds = Thresholds(null_jump=max_null_increase, min_row_ratio=min_row_ratio)
    report = check_data(
        st.data(),
        target,
        schema=schema,
        reference=reference,
        dataset=dataset,
        thresholds=thresholds,
    )
    if as_json:
        render.print_json(st.console, report.to_dict())
    else:
        print_report(st.console, target, report)
    if not report.passed:
        raise typer.Exit(CHECKS_FAILED)


def check_data(
    data: DataClient,
    target: str,
    *,
    schema: Schema | None = None,
    reference: str | None = None,
    dataset: str | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Report:
    """Validate local data (against ``dataset``'s schema) or a version (its own schema)."""
    if is_local(target):
        if schema is None and dataset is not None:
            schema = data.schema(dataset)
            if schema is None:
                raise NotFound(f"dataset {dataset!r} has no schema: attach one first")
        return data.validate(
            Path(target), schema=schema, reference=reference, thresholds=thresholds
        )
    if dataset is not None:
        raise InvalidArgument(
            f"--dataset is for local data, and {target!r} names a version (it has no '/' "
            "and no data suffix); write ./NAME for a local file or folder"
        )
    return data.validate(target, schema=schema, reference=reference, thresholds=thresholds)


def _read_schema(file: str) -> Schema:
    try:
        text = Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"no schema file {file}") from None
    except PermissionError:
        raise PermissionDenied(f"cannot read {file}: permission denied") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise InvalidArgument(f"cannot read {file} as text: {exc}") from None
    return Schema.from_yaml(text)


def print_report(console: Console, target: str, report: Report) -> None:
    if not report.anomalies:
        console.print(f"[green]{escape(target)}: no anomalies[/green] ({report.rows:,} rows)")
        return
    table = Table(
        "severity",
        "anomaly",
        "column",
        "expected",
        "observed",
        box=None,
        header_style="bold",
    )
    for anomaly in report.anomalies:
        style = "red" if anomaly.severity == "error" else "yellow"
        table.add_row(
            f"[{style}]{anomaly.severity}[/{style}]",
            anomaly.kind.replace("_", " "),
            escape(anomaly.column or "-"),
            escape(anomaly.expected),
            escape(anomaly.observed),
        )
    console.print(table)
    verdict = "[red]failed[/red]" if not report.passed else "[green]passed[/green]"
    console.print(
        f"{escape(target)}: {verdict}: {plural(len(report.errors), 'error')}, "
        f"{plural(len(report.warnings), 'warning')} ({plural(report.rows, 'row')})"
    )
