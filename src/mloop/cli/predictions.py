"""``mloop predictions``: what the prediction log holds, per model version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import state
from mloop.errors import InvalidArgument
from mloop.registry.times import parse_duration

app = typer.Typer(
    help="Read the prediction log that `mloop serve` writes: traffic, latency and labels.",
    no_args_is_help=True,
)


@app.command("show")
def show(
    ctx: typer.Context,
    deployment: Annotated[
        str | None, typer.Argument(help="The deployment (all predictions when left out).")
    ] = None,
    since: Annotated[
        str, typer.Option("--since", help="How far back: 90s, 30m, 2h, 1d, or 0 for all.")
    ] = "1h",
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Also write the rows (.csv or .parquet) for analysis."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Summarise logged predictions per model version: rows, share of traffic, p50/p99
    latency, labelled rows and the share whose prediction matched the label (match), the
    most frequent predictions, and how often a shadow model agreed with the answer.

    Example: mloop predictions show churn-api --since 1h
    """
    from mloop.serving.query import predictions
    from mloop.serving.summary import summarise

    st = state(ctx)
    back = parse_duration(since)
    if export is not None and export.suffix.lower() not in (".csv", ".parquet"):
        raise InvalidArgument(f"--export {export}: use a .csv or .parquet file")
    rows = predictions(deployment, back if back.total_seconds() else None, client=st.client())
    summary = summarise(rows)
    if export is not None:
        if export.suffix.lower() == ".csv":
            rows.to_csv(export, index=False)
        else:
            rows.to_parquet(export, index=False)
    if as_json:
        render.print_json(st.console, summary)
        return
    what = f"deployment {deployment}" if deployment else "all deployments and models"
    window = f"in the last {since}" if back.total_seconds() else "in all"
    if not summary.rows:
        st.console.print(f"No logged predictions for {escape(what)} {window}.")
        return
    st.console.print(
        f"[bold]{summary.rows:,}[/bold] predictions in {summary.requests:,} requests for "
        f"{escape(what)} {window} ({summary.start} to {summary.end})"
    )
    table = Table(box=None, header_style="bold")
    table.add_column("model", no_wrap=True)
    for name in ("rows", "share", "p50 ms", "p99 ms", "labels", "match"):
        table.add_column(name, justify="right")
    table.add_column("predicted")
    for m in summary.models:
        table.add_row(
            escape(m.model),
            f"{m.rows:,}",
            f"{m.share:.0%}",
            f"{m.latency_p50_ms:.2f}",
            f"{m.latency_p99_ms:.2f}",
            f"{m.labelled:,}",
            "-" if m.agreement is None else f"{m.agreement:.1%}",
            escape(", ".join(f"{k}: {v:,}" for k, v in m.predictions.items())),
        )
    st.console.print(table)
    for s in summary.shadows:
        agree = "-" if s.agreement is None else f"{s.agreement:.1%}"
        st.console.print(
            f"shadow {escape(s.model)}: {s.rows:,} rows scored, {agree} agree with the "
            f"answer, {s.errors:,} errors"
        )
    if export is not None:
        st.console.print(f"Rows written to {export}")
