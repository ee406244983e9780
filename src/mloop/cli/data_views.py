"""Terminal views of datasets: a version in full (with its column statistics) and a diff."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import State
from mloop.data import ColumnProfile, DatasetDiff, Profile
from mloop.data.profile_diff import Change
from mloop.store import DatasetVersion

_TOP_SHOWN = 3


def summary(version: DatasetVersion) -> str:
    """``17,379 rows, 1 file, 1.2 MB``."""
    files = f"{version.files:,} file{'s' if version.files != 1 else ''}"
    rows = f"{version.rows:,} rows, " if version.rows is not None else ""
    return f"{rows}{files}, {render.size(version.size)}"


def show_version(st: State, ref: str, *, as_json: bool) -> None:
    data = st.data()
    version = data.version(ref)
    profile = data.profile(version)
    users = data.used_by(version)
    history = data.versions(version.dataset) if "@" not in ref else []
    if as_json:
        render.print_json(
            st.console,
            {
                "version": version,
                "profile": None if profile is None else profile.to_dict(),
                "used_by": [
                    {"run_id": u.run_id, "role": u.role, "at": u.created_at} for u in users
                ],
            },
        )
        return
    out = st.console
    out.print(f"[bold]{escape(version.ref)}[/bold]  [dim]{version.digest}[/dim]")
    parent = f"   parent {version.dataset}@{version.parent}" if version.parent else ""
    out.print(
        f"{version.kind.value}: {summary(version)}   added {render.when(version.created_at)} "
        f"by {escape(version.user)}{escape(parent)}"
    )
    if version.message:
        out.print(f"message: {escape(version.message)}")
    if version.source:
        out.print(f"[dim]from {escape(version.source)}[/dim]")
    if version.tags:
        out.print("tags: " + ", ".join(f"{escape(k)}={escape(v)}" for k, v in version.tags.items()))
    if profile is not None:
        out.print(profile_table(profile))
    if users:
        out.print("[bold]Used by runs[/bold]")
        for user in users:
            out.print(f"  {user.run_id}  {escape(user.role)}  {render.when(user.created_at)}")
    if len(history) > 1:
        out.print(versions_table(history))


def profile_table(profile: Profile) -> Table:
    """One row per column: type, nulls, distinct values and the column's main statistics."""
    table = Table(
        "column",
        "type",
        "nulls",
        "distinct",
        "statistics",
        title=f"Columns ({profile.rows:,} rows)",
        title_justify="left",
        title_style="bold",
        box=None,
        header_style="bold",
    )
    for column in profile.columns:
        table.add_row(
            escape(column.name),
            column.logical_type,
            f"{column.null_fraction:.1%}" if column.null_count else "-",
            "-" if column.distinct is None else f"{column.distinct:,}",
            escape(_statistics(column)),
        )
    return table


def _statistics(column: ColumnProfile) -> str:
    if column.numeric is not None:
        n = column.numeric
        return (
            f"min {render.number(n.min)}  median {render.number(n.quantile(0.5))}  "
            f"max {render.number(n.max)}  mean {render.number(n.mean)}  "
            f"std {render.number(n.std)}"
        )
    if column.top_values:
        shown = ", ".join(f"{value} ({count:,})" for value, count in column.top_values[:_TOP_SHOWN])
        more = len(column.top_values) - _TOP_SHOWN
        return shown + (f", … {more} more" if more > 0 else "")
    if column.earliest is not None:
        return f"{column.earliest} … {column.latest}"
    return ""


def versions_table(versions: list[DatasetVersion]) -> Table:
    table = Table(
        "version",
        "added",
        "user",
        "contents",
        "message",
        "digest",
        title="Versions",
        title_justify="left",
        title_style="bold",
        box=None,
        header_style="bold",
    )
    for version in versions:
        table.add_row(
            str(version.version),
            render.when(version.created_at, short=True),
            escape(version.user),
            summary(version),
            escape(version.message or ""),
            version.digest[:12],
        )
    return table


def print_diff(st: State, diff: DatasetDiff) -> None:
    out = st.console
    out.print(f"[bold]{escape(diff.old.ref)} → {escape(diff.new.ref)}[/bold]")
    if diff.identical:
        out.print("Identical content.")
        return
    out.print(
        f"files: {len(diff.added)} added, {len(diff.removed)} removed, "
        f"{len(diff.changed)} changed, {diff.unchanged} unchanged"
    )
    for sign, style, changes in (("+", "green", diff.added), ("-", "red", diff.removed)):
        for change in changes:
            out.print(f"  [{style}]{sign} {escape(change.path)}[/{style}]")
    for change in diff.changed:
        sizes = f"{render.size(change.old_size or 0)} → {render.size(change.new_size or 0)}"
        out.print(f"  [yellow]~ {escape(change.path)}[/yellow]  {sizes}")
    tables = diff.tables
    if tables is None:
        return
    delta = _signed(tables.new_rows - tables.old_rows)
    out.print(f"rows: {tables.old_rows:,} → {tables.new_rows:,} ({delta})")
    if tables.schema_changes:
        out.print(_changes_table("Schema changes", tables.schema_changes, with_size=False))
    if tables.changes:
        out.print(_changes_table("Largest changes in column statistics", tables.changes))


def _changes_table(title: str, changes: tuple[Change, ...], *, with_size: bool = True) -> Table:
    table = Table(
        "column",
        "change",
        "before",
        "after",
        *(["size"] if with_size else []),
        title=title,
        title_justify="left",
        title_style="bold",
        box=None,
        header_style="bold",
    )
    for change in changes:
        cells = [
            escape(change.column),
            change.kind.replace("_", " "),
            escape(change.old),
            escape(change.new),
        ]
        if with_size:
            cells.append(f"{change.size:.2f}")
        table.add_row(*cells)
    return table


def _signed(value: int) -> str:
    return f"+{value:,}" if value >= 0 else f"{value:,}"
