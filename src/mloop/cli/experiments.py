"""``mloop experiments``: the experiments of the store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import state

app = typer.Typer(help="List experiments.", no_args_is_help=True)


@app.command("list")
def list_experiments(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List experiments with their number of runs and latest run.

    Example: mloop experiments list
    """
    st = state(ctx)
    summaries = st.client().list_experiments()
    if as_json:
        render.print_json(st.console, summaries)
        return
    table = Table("id", "name", "project", "runs", "last run", box=None, header_style="bold")
    for s in summaries:
        table.add_row(
            str(s.experiment.id),
            s.experiment.name,
            s.project,
            str(s.run_count),
            render.when(s.last_run_at),
        )
    st.console.print(table)
