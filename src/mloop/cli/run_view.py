"""Detailed views of runs: one run in full, and several side by side."""

from __future__ import annotations

import math

from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import State
from mloop.errors import InvalidArgument
from mloop.store.entities import Run

_SOURCE = "mloop."


def show_run(st: State, ref: str, *, as_json: bool) -> None:
    client = st.client()
    run = client.get_run(ref)
    artifacts = client.list_artifacts(run.id)
    notes = client.list_notes(run.id)
    inputs = client.store.datasets.run_inputs(run.id)
    if as_json:
        used = [
            {
                "dataset": i.version.dataset,
                "version": i.version.version,
                "digest": i.version.digest,
                "role": i.role,
            }
            for i in inputs
        ]
        render.print_json(
            st.console, {"run": run, "artifacts": artifacts, "notes": notes, "inputs": used}
        )
        return
    out = st.console
    out.print(f"[bold]{escape(run.name)}[/bold]  [dim]{run.id}[/dim]")
    out.print(
        f"status [{render.status_style(run.status)}]{run.status}[/]   user {escape(run.user)}   "
        f"started {render.when(run.start_time)}   duration {render.duration(run)}"
    )
    if run.parent_id:
        out.print(f"parent {run.parent_id}")
    _pairs(st, "Params", run.params)
    _pairs(st, "Metrics (latest)", {k: render.number(v) for k, v in run.metrics.items()})
    _pairs(st, "Tags", {k: v for k, v in run.tags.items() if not k.startswith(_SOURCE)})
    _pairs(
        st,
        "Source and environment",
        {k.removeprefix(_SOURCE): v for k, v in run.tags.items() if k.startswith(_SOURCE)},
    )
    if inputs:
        table = Table(title="Data", title_justify="left", title_style="bold", box=None)
        for column in ("version", "role", "digest"):
            table.add_column(column, header_style="bold")
        for item in inputs:
            table.add_row(escape(item.version.ref), escape(item.role), item.version.digest[:12])
        out.print(table)
    if artifacts:
        out.print(render.artifact_table(artifacts, title="Artifacts"))
    if notes:
        out.print("[bold]Notes[/bold]")
        for n in notes:
            outcome = f" ({n.outcome.value})" if n.outcome else ""
            out.print(f"  {render.when(n.created_at)} {escape(n.user)}{outcome}: {escape(n.text)}")


def _pairs(st: State, title: str, values: dict[str, str]) -> None:
    if not values:
        return
    table = Table(
        box=None, show_header=False, title=title, title_justify="left", title_style="bold"
    )
    table.add_column(style="cyan")
    table.add_column(overflow="fold")
    for key in sorted(values):
        table.add_row(escape(key), escape(values[key]))
    st.console.print(table)


def compare_runs(st: State, refs: list[str], *, as_json: bool) -> None:
    if len(refs) < 2:
        raise InvalidArgument("give at least two runs to compare")
    client = st.client()
    runs = [client.get_run(ref) for ref in refs]
    rows = _comparison(runs)
    if as_json:
        body = [{"key": key, "values": values, "differs": differs} for key, values, differs in rows]
        render.print_json(st.console, {"runs": [r.id for r in runs], "rows": body})
        return
    headers = (f"{escape(r.name)}\n[dim]{r.id[:8]}[/dim]" for r in runs)
    table = Table("", *headers, box=None, header_style="bold")
    for key, values, differs in rows:
        cells = [escape(_shown(v)) for v in values]
        table.add_row(
            escape(key) + (" ≠" if differs else ""),
            *cells,
            style="bold yellow" if differs else None,
        )
    st.console.print(table)


Value = str | float | None


def _comparison(runs: list[Run]) -> list[tuple[str, list[Value], bool]]:
    """(field, value per run, whether they differ) for every param and metric."""
    rows: list[tuple[str, list[Value], bool]] = []
    for kind in ("params", "metrics"):
        for key in sorted({k for r in runs for k in getattr(r, kind)}):
            values: list[Value] = [getattr(r, kind).get(key) for r in runs]
            distinct = {"nan" if isinstance(v, float) and math.isnan(v) else v for v in values}
            rows.append((f"{kind}.{key}", values, len(distinct) > 1))
    return rows


def _shown(value: Value) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else render.number(value)
