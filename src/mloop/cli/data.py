"""``mloop data``: add, list, show, diff and check out dataset versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mloop.cli import data_views as views
from mloop.cli import render
from mloop.cli.data_schema import schema_app, validate_command
from mloop.cli.progress import file_progress
from mloop.cli.state import state
from mloop.errors import InvalidArgument

app = typer.Typer(
    help="Version, inspect and validate datasets (files, folders and tables).",
    no_args_is_help=True,
)


@app.command("add")
def add(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="A file or a folder (any file types).")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name, e.g. bikes.")],
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="What changed in this version.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="KEY=VALUE (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add a file or folder as the next version of a dataset.

    Content identical to the latest version makes no new version. CSV, Parquet
    and JSON-lines data (a file, or a folder of one format) is profiled.
    Unchanged files are not hashed again.

    Example: mloop data add data/bikes.csv --name bikes -m "2012 added"
    """
    st = state(ctx)
    data = st.data()
    source = Path(path)
    with file_progress(f"Adding {source.name}") as progress:
        result = data.add(
            source, name, message=message, tags=render.parse_tags(tag), progress=progress
        )
    if as_json:
        render.print_json(st.console, {"version": result.version, "created": result.created})
        return
    version = result.version
    if not result.created:
        st.console.print(f"Unchanged: identical to {escape(version.ref)}, no new version was made.")
        return
    st.console.print(
        f"Added [bold]{escape(version.ref)}[/bold]: {views.summary(version)}  "
        f"[dim]{version.digest[:12]}[/dim]"
    )


@app.command("list")
def list_datasets(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List datasets with their latest version.

    Example: mloop data list
    """
    st = state(ctx)
    data = st.data()
    rows = [(d, data.version(d.name) if d.latest else None) for d in data.datasets()]
    if as_json:
        render.print_json(
            st.console,
            [
                {
                    "name": d.name,
                    "created_at": d.created_at,
                    "schema": None if d.schema is None else json.loads(d.schema),
                    "latest": v,
                }
                for d, v in rows
            ],
        )
        return
    if not rows:
        st.console.print("No datasets yet: add one with `mloop data add PATH --name NAME`.")
        return
    table = Table("name", "latest", "kind", "contents", "added", "schema", box=None)
    table.columns[0].style = "bold"
    for dataset, version in rows:
        table.add_row(
            escape(dataset.name),
            "-" if version is None else str(version.version),
            "-" if version is None else version.kind.value,
            "-" if version is None else views.summary(version),
            "-" if version is None else render.when(version.created_at, short=True),
            "yes" if dataset.schema else "-",
        )
    st.console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME (the latest), NAME@3 or NAME@<digest prefix>.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a dataset version: files, statistics per column, and the runs that used it.

    Example: mloop data show bikes@2
    """
    views.show_version(state(ctx), ref, as_json=as_json)


@app.command("diff")
def diff(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="The older version, e.g. bikes@1.")],
    new: Annotated[str, typer.Argument(help="The newer version, e.g. bikes@2.")],
    limit: Annotated[
        int, typer.Option("--limit", min=0, max=1000, help="Statistics changes to list.")
    ] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare two versions: files added, removed, changed; for tables also schema,
    row counts and the largest changes in column statistics.

    Example: mloop data diff bikes@1 bikes@2
    """
    st = state(ctx)
    result = st.data().diff(old, new, limit=limit)
    if as_json:
        render.print_json(st.console, result.to_dict())
        return
    views.print_diff(st, result)


@app.command("checkout")
def checkout(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME, NAME@3 or NAME@<digest prefix>.")],
    dest: Annotated[str, typer.Argument(help="A new or empty folder.")],
    link: Annotated[
        bool,
        typer.Option(
            "--link",
            help="Hardlink files from a local blob store (instant; for readers only: "
            "writing to a linked file corrupts the store).",
        ),
    ] = False,
    copy: Annotated[
        bool, typer.Option("--copy", hidden=True, help="Copy every file (the default).")
    ] = False,
) -> None:
    """Write a version's files into a new or empty folder; every file is verified.

    Each file is an independent copy, safe to edit: a reflink (instant,
    copy-on-write) where the filesystem has them (Btrfs, XFS), else a copy.
    --link hardlinks them from a local blob store instead: instant on any
    filesystem, but a hardlink IS the stored file, so appending to it (root
    ignores its read-only mode) corrupts the store. Use it for read-only work.

    Example: mloop data checkout bikes@1 ./bikes-v1
             mloop data checkout bikes@1 ./bikes-v1 --link   (read-only use)
    """
    if link and copy:
        raise InvalidArgument("--link and --copy exclude each other: choose one")
    st = state(ctx)
    data = st.data()
    version = data.version(ref)
    with file_progress(f"Checking out {version.ref}") as progress:
        written = data.checkout(version, Path(dest), link=link, progress=progress)
    st.console.print(f"Checked out {escape(version.ref)} ({views.summary(version)}) to {written}")


app.command("validate")(validate_command)
app.add_typer(schema_app, name="schema")
