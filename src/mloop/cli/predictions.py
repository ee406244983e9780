"""``mloop predictions``: what the prediction log holds, per model version."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import state
from mloop.errors import BackendUnavailable, InvalidArgument
from mloop.registry.times import parse_duration

if TYPE_CHECKING:
    from mloop.serving.recovery import Replayed

app = typer.Typer(
    help="Read the prediction log that `mloop serve` writes: traffic, latency and labels; "
    "recover what killed servers had not written.",
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


@app.command("recover")
def recover(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Argument(help="Only the journals of this source (as given to mloop serve)."),
    ] = None,
    journal: Annotated[
        Path | None,
        typer.Option("--journal", help="The journal folder, if mloop serve was given one."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write to the prediction log what scoring servers that were killed (SIGKILL, the OOM
    killer, a lost node) had answered but not written yet, from their journals on this
    machine. A server does this for its own source when it starts; this command is for a
    source that is not served again. Journals of servers still running are left alone.

    Example: mloop predictions recover churn-api
    """
    from mloop.serving.recovery import journal_root
    from mloop.serving.recovery import recover as recover_journals

    st = state(ctx)
    client = st.client()
    root = journal_root(journal, client.settings.workspace)
    done, others = recover_journals(client, root, source)
    failed = [r for r in done if r.error is not None]
    if as_json:
        render.print_json(
            st.console,
            {
                "journal": str(root),
                "recovered": [
                    {"source": r.source, "rows": r.rows, "failures": r.failures, "error": r.error}
                    for r in done
                ],
                "other_stores": others,
            },
        )
    else:
        _print_recovered(st.console, root, done, others)
    if failed:
        raise BackendUnavailable(
            f"{len(failed)} journal(s) could not be written to the log; they are kept: "
            "run this again once the store is reachable"
        )


def _print_recovered(console: Console, root: Path, done: list[Replayed], others: int) -> None:
    for r in done:
        if r.error is None:
            console.print(
                f"Wrote {r.rows:,} predictions and {r.failures:,} failed requests of a stopped "
                f"server of {escape(r.source)} to the log"
            )
        else:
            console.print(
                f"Not written yet, from a server of {escape(r.source)}: {escape(r.error)}"
            )
    if not done:
        console.print(f"No journal of a stopped server in {escape(str(root))}: nothing to write.")
    if others:
        console.print(
            f"{others} source(s) in {escape(str(root))} belong to other stores (see --uri)."
        )
