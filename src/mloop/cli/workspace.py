"""``mloop init``, ``mloop db``, ``mloop gc`` and ``mloop fsck``: the workspace and its storage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from mloop import workspace as ws
from mloop.cli import render
from mloop.cli.progress import file_progress
from mloop.cli.state import state
from mloop.config import normalise_uri, resolve_settings
from mloop.errors import CHECKS_FAILED, InvalidArgument
from mloop.registry.times import parse_duration
from mloop.serving.storecheck import StoreCheck, check_storage
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
    """Find blobs that nothing references, and temporary files that killed writes left
    behind (in the blob store and the local caches); delete them with --delete.

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
    if report.abandoned:
        done, left = "Deleted" if delete else "Would delete", len(report.abandoned)
        st.console.print(
            f"{done} {left:,} temporary file{'' if left == 1 else 's'} of abandoned writes "
            f"({report.abandoned_bytes:,} bytes)."
        )
    if not count:
        st.console.print(
            "Nothing to collect." if not report.abandoned else "No unreferenced blobs."
        )
    elif delete:
        st.console.print(f"Deleted {_blobs(count)} ({size:,} bytes).")
    else:
        st.console.print(
            f"{_blobs(count)} ({size:,} bytes) would be deleted: "
            f"run `mloop gc --delete{'' if min_age == '1h' else ' --min-age ' + min_age}`."
        )


def _blobs(count: int) -> str:
    return f"{count:,} unreferenced blob{'' if count == 1 else 's'}"


def fsck(
    ctx: typer.Context,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair", help="Store damaged blobs again from good copies on this machine."
        ),
    ] = False,
    sample: Annotated[
        str | None,
        typer.Option(
            "--sample",
            help="Hash only some stored blobs again, at random: a number (500) or a share "
            "(0.1 or 10%). References and manifests are always checked in full.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check the blob store: every blob hashed again, every manifest read, every blob the
    metadata references present. Lists what a damaged blob breaks; exit 9 on damage.

    Example: mloop fsck
             mloop fsck --sample 10%
             mloop fsck --repair
    """
    st = state(ctx)
    with file_progress("Checking blobs") as progress:
        check = check_storage(
            st.client(), sample=parse_sample(sample), repair=repair, progress=progress
        )
    if as_json:
        render.print_json(st.console, check.to_dict())
    else:
        _print_check(st.console, check, repair=repair)
    if not check.clean:
        raise typer.Exit(CHECKS_FAILED)


def parse_sample(text: str | None) -> int | float | None:
    """``500`` blobs, or a share: ``0.1``, ``10%``."""
    if text is None:
        return None
    value = text.strip()
    try:
        if value.endswith("%"):
            return float(value[:-1]) / 100
        return float(value) if "." in value else int(value)
    except ValueError:
        raise InvalidArgument(
            f"--sample {text!r}: a number of blobs (500) or a share (0.1 or 10%)"
        ) from None


def _print_check(console: Console, check: StoreCheck, *, repair: bool) -> None:
    report = check.blobs
    console.print(
        f"Hashed {report.hashed:,} of {report.objects:,} stored blobs "
        f"({report.hashed_bytes:,} bytes); {report.referenced:,} referenced."
    )
    for damage in report.damaged:
        fixed = "" if damage.repaired_from is None else f": repaired from {damage.repaired_from}"
        console.print(f"  {damage.digest.hex}  {damage.problem.value}{escape(fixed)}")
    for user in check.broken:
        console.print(f"  breaks {user.kind} {escape(user.name)}")
    if check.clean:
        console.print("Clean." if not report.damaged else "Repaired: clean now.")
        return
    left = len(report.unrepaired)
    hint = (
        "no good copy was found on this machine: add the original data again or restore "
        "the blob from a backup"
        if repair
        else "run `mloop fsck --repair` to store them again from copies on this machine"
    )
    console.print(f"{left:,} damaged blob{'' if left == 1 else 's'}: {hint}.")
