"""``mloop init``, ``mloop db`` and ``mloop gc``: the workspace and its storage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mloop import workspace as ws
from mloop.cli import render
from mloop.cli.state import state
from mloop.config import resolve_settings
from mloop.store import upgrade_store

db_app = typer.Typer(help="Manage the metadata database.", no_args_is_help=True)


def init(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Project folder (default: the current one).")] = Path(
        "."
    ),
) -> None:
    """Create an mloop workspace (.mloop/ with a SQLite database and a blob folder).

    Every mloop command run in this folder or below uses it, like git.

    Example: mloop init
    """
    st = state(ctx)
    home = ws.create_workspace(path.resolve())
    upgrade_store(st.uri or ws.database_uri(path.resolve()))
    st.console.print(f"Initialised an mloop workspace in {home}")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create the schema or migrate it to this version of mloop.

    Example: mloop db upgrade --uri postgresql://mloop@db.internal/mloop
    """
    st = state(ctx)
    uri = resolve_settings(st.uri, st.blobs).uri
    before, after = upgrade_store(uri)
    if before == after:
        st.console.print(f"Schema already at revision {after}.")
    else:
        st.console.print(f"Schema upgraded from {before or 'empty'} to revision {after}.")


def gc(
    ctx: typer.Context,
    delete: Annotated[
        bool, typer.Option("--delete", help="Really delete (default: dry run).")
    ] = False,
    min_age: Annotated[
        str,
        typer.Option(
            "--min-age",
            help="Keep unreferenced blobs younger than this (e.g. 30m, 2h, 1d, 0): "
            "a run may be about to reference them.",
        ),
    ] = "1h",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find blobs that no run, dataset or model references; delete them with --delete.

    Example: mloop gc            (shows what would go)
             mloop gc --delete   (removes it)
    """
    st = state(ctx)
    report = st.client().garbage_collect(delete=delete, min_age=render.parse_duration(min_age))
    if as_json:
        render.print_json(st.console, report)
        return
    count, size = len(report.unreferenced), report.unreferenced_bytes
    if report.too_recent:
        st.console.print(
            f"Kept {len(report.too_recent)} unreferenced blobs younger than {min_age} "
            "(see --min-age)."
        )
    if not count:
        st.console.print("Nothing to collect.")
    elif delete:
        st.console.print(f"Deleted {count} unreferenced blobs ({size:,} bytes).")
    else:
        st.console.print(
            f"{count} unreferenced blobs ({size:,} bytes) would be deleted: "
            "run `mloop gc --delete`."
        )
