"""``mloop init``, ``mloop db`` and ``mloop gc``: the workspace and its storage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mloop import workspace as ws
from mloop.cli import render
from mloop.cli.state import state
from mloop.config import normalise_uri, resolve_settings
from mloop.registry.times import parse_duration
from mloop.store import upgrade_store

db_app = typer.Typer(help="Manage the metadata database.", no_args_is_help=True)


def init(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Project folder (default: the current one).")] = Path(
        "."
    ),
) -> None:
    """Create an mloop workspace (.mloop/ with a SQLite database and a blob folder).

    Every mloop command run in this folder or below uses it, like git. With
    --uri / --blobs the workspace keeps its metadata or blobs elsewhere and
    remembers where in .mloop/config.toml.

    Example: mloop init
             mloop --uri postgresql://me@db.internal/mloop --blobs s3://ml/blobs init
    """
    st = state(ctx)
    folder = path.resolve()
    uri = normalise_uri(st.uri) if st.uri else None
    if uri is not None:
        upgrade_store(uri)  # a shared store must work before the workspace points at it
    blobs = st.blobs
    if blobs is not None and "://" not in blobs:
        blobs = str(Path(blobs).resolve())  # as typed here, not relative to the workspace
    home = ws.create_workspace(folder, uri=uri, blobs=blobs)
    if uri is None:
        upgrade_store(ws.database_uri(folder))
    st.console.print(f"Initialised an mloop workspace in {home}")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create the schema or migrate it to this version of mloop.

    Example: mloop --uri postgresql://mloop@db.internal/mloop db upgrade
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
    """Find blobs (artifact bytes) that no run references; delete them with --delete.

    Example: mloop gc            (shows what would go)
             mloop gc --delete   (removes it)
    """
    st = state(ctx)
    report = st.client().garbage_collect(delete=delete, min_age=parse_duration(min_age))
    if as_json:
        render.print_json(st.console, report)
        return
    count, size = len(report.unreferenced), report.unreferenced_bytes
    if report.too_recent:
        st.console.print(
            f"Kept {_blobs(len(report.too_recent))} younger than {min_age} (see --min-age)."
        )
    if not count:
        st.console.print("Nothing to collect.")
    elif delete:
        st.console.print(f"Deleted {_blobs(count)} ({size:,} bytes).")
    else:
        st.console.print(
            f"{_blobs(count)} ({size:,} bytes) would be deleted: "
            f"run `mloop gc --delete{'' if min_age == '1h' else ' --min-age ' + min_age}`."
        )


def _blobs(count: int) -> str:
    return f"{count:,} unreferenced blob{'' if count == 1 else 's'}"
