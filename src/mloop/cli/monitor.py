"""``mloop monitor``: drift, performance and data quality of a deployment, window by window."""

from __future__ import annotations

import json
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import State, state
from mloop.errors import CHECKS_FAILED, InvalidArgument, NotFound
from mloop.registry.times import parse_duration

if TYPE_CHECKING:
    from mloop.monitoring.monitors import Monitors
    from mloop.store import MonitorResult

app = typer.Typer(
    help=(
        "Monitors: compare each window of a deployment's prediction log with a reference "
        "dataset version (drift per column, prediction and target drift, performance from "
        "late labels, data quality), store the results with HTML reports, and raise events."
    ),
    no_args_is_help=True,
)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
SPARKS = "▁▂▃▄▅▆▇█"


def _monitors(st: State) -> Monitors:
    from mloop.monitoring.monitors import Monitors

    return Monitors(st.client())


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The monitor's name, e.g. bikes-drift.")],
    deployment: Annotated[str, typer.Option("--deployment", help="The deployment to watch.")],
    reference: Annotated[
        str, typer.Option("--reference", help="The reference dataset version, NAME@N.")
    ],
    window: Annotated[
        str, typer.Option("--window", help="1h, 1d, 30m (time) or 10000rows (traffic).")
    ] = "1d",
    target: Annotated[
        str | None,
        typer.Option("--target", help="The reference's label column (for performance)."),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="Comma-separated columns (default: the model's inputs)."),
    ] = None,
    drift_share: Annotated[
        float, typer.Option("--drift-share", help="Share of drifted columns that is dataset drift.")
    ] = 0.5,
    threshold: Annotated[
        list[str] | None,
        typer.Option("--threshold", help="TEST=VALUE, e.g. wasserstein=0.2 (repeatable)."),
    ] = None,
    decay_threshold: Annotated[
        float,
        typer.Option(
            "--decay-threshold", help="Accuracy drop (or relative MAE rise) that is decay."
        ),
    ] = 0.05,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST every event here as JSON.")
    ] = None,
    label_delay: Annotated[
        str,
        typer.Option(
            "--label-delay", help="How long labels take to come: 30m, 2h, 1d (default 0)."
        ),
    ] = "0",
    as_json: AsJson = False,
) -> None:
    """Create a monitor of a deployment against a reference dataset version.

    Example: mloop monitor create bikes-drift --deployment bikes-api --reference bikes@1
    --window 1d --target cnt
    """
    st = state(ctx)
    monitor = _monitors(st).create(
        name,
        deployment=deployment,
        reference=reference,
        window=window,
        target=target,
        columns=[c.strip() for c in columns.split(",")] if columns else None,
        drift_share=drift_share,
        thresholds=_thresholds(threshold),
        decay_threshold=decay_threshold,
        webhook=webhook,
        label_delay=parse_duration(label_delay),
    )
    if as_json:
        render.print_json(st.console, monitor)
        return
    st.console.print(
        f"Created monitor [bold]{escape(name)}[/bold]: deployment {escape(deployment)} against "
        f"{escape(monitor.reference)}, windows of {monitor.window}. Run it with "
        f"`mloop monitor run {escape(name)}`."
    )


def _thresholds(items: list[str] | None) -> dict[str, float]:
    found = {}
    for test, value in render.parse_pairs(items, "--threshold", "TEST=NUMBER").items():
        try:
            found[test] = float(value)
        except ValueError:
            raise InvalidArgument(f"--threshold takes TEST=NUMBER, got {test}={value}") from None
    return found


@app.command("run")
def run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The monitor.")],
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Compute windows ending before this time (default: now - 1m)."
        ),
    ] = None,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit 9 if a new window drifted or decayed.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Compute every complete window not computed yet (running again is harmless).

    Example: mloop monitor run bikes-drift --fail-on-drift
    """
    st = state(ctx)
    monitors = _monitors(st)
    created = monitors.run(name, until=until)
    ids = {r.id for r in created}
    events = [e for e in st.client().store.monitors.events(name) if e.result_id in ids]
    if as_json:
        render.print_json(
            st.console, {"results": [_result_dict(r) for r in created], "events": events}
        )
    elif not created:
        st.console.print("No new complete window to compute.")
    else:
        st.console.print(f"Computed {len(created)} window(s).")
        st.console.print(_timeline_table(created))
        for event in events:
            st.console.print(f"[red]{event.kind}[/red]: {escape(event.message)}")
    if fail_on_drift and any(e.kind in ("drift", "decay") for e in events):
        raise typer.Exit(CHECKS_FAILED)


@app.command("status")
def status(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The monitor.")],
    last: Annotated[int, typer.Option("--last", help="How many windows to list.")] = 12,
    as_json: AsJson = False,
) -> None:
    """The latest verdict and a timeline of the last windows.

    Example: mloop monitor status bikes-drift
    """
    st = state(ctx)
    found = _monitors(st).status(name)
    if as_json:
        render.print_json(
            st.console,
            {"monitor": found.monitor, "results": [_result_dict(r) for r in found.results]},
        )
        return
    monitor = found.monitor
    st.console.print(
        f"[bold]{escape(monitor.name)}[/bold]: deployment "
        f"{escape(monitor.deployment)} against {escape(monitor.reference)}, "
        f"windows of {monitor.window}"
    )
    latest = found.latest
    if latest is None:
        st.console.print(f"No window computed yet: `mloop monitor run {escape(name)}`.")
        return
    verdict = json.loads(latest.result)
    drift = verdict["drift"]
    reasons = []
    if drift and drift["drifted"]:
        reasons.append("dataset drift")
    if verdict["prediction_drift"]["drifted"]:
        reasons.append("the predictions drifted")
    text = f"[red]DRIFT ({', '.join(reasons)})[/red]" if reasons else "[green]no drift[/green]"
    st.console.print(
        f"Latest window {render.when(latest.window_start)}: {text}; "
        f"{latest.share:.0%} of columns drifted over {latest.rows:,} rows"
    )
    if drift:
        moved = [f["column"] for f in drift["features"] if f["drifted"]]
        if moved:
            st.console.print(f"  drifted: {escape(', '.join(moved))}")
    shares = [r.share for r in found.results[-last:]]
    st.console.print("  drift share " + "".join(SPARKS[min(7, int(s * 8))] for s in shares))
    st.console.print(_timeline_table(found.results[-last:]))


@app.command("report")
def report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The monitor.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write the HTML file.")
    ] = None,
    open_it: Annotated[bool, typer.Option("--open", help="Open it in the browser.")] = False,
) -> None:
    """Write the HTML report of the latest window (plots, table, timeline) to a file.

    Example: mloop monitor report bikes-drift --open
    """
    from mloop.blobs import Digest

    st = state(ctx)
    found = _monitors(st).status(name)
    reported = [r for r in found.results if r.report]
    if not reported:
        raise NotFound(f"monitor {name!r} has no report yet: `mloop monitor run {name}`")
    latest = reported[-1]
    assert latest.report is not None
    path = output or Path(f"{name}-report.html")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(st.client().blobs.get_bytes(Digest(latest.report)))
    st.console.print(f"Report of the window {render.when(latest.window_start)} written to {path}")
    if open_it:
        webbrowser.open(path.resolve().as_uri())


@app.command("list")
def list_monitors(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List monitors.

    Example: mloop monitor list
    """
    st = state(ctx)
    found = _monitors(st).all()
    if as_json:
        render.print_json(st.console, found)
        return
    if not found:
        st.console.print(
            "No monitors yet: `mloop monitor create NAME --deployment D --reference DATASET@V`."
        )
        return
    table = Table("name", "deployment", "reference", "window", box=None, header_style="bold")
    for m in found:
        table.add_row(escape(m.name), escape(m.deployment), escape(m.reference), m.window)
    st.console.print(table)


@app.command("events")
def events(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="The monitor (all when left out).")] = None,
    as_json: AsJson = False,
) -> None:
    """Every drift, decay and quality event, oldest first.

    Example: mloop monitor events bikes-drift
    """
    st = state(ctx)
    found = st.client().store.monitors.events(name)
    if as_json:
        render.print_json(st.console, found)
        return
    table = Table("id", "when", "monitor", "kind", "message", box=None, header_style="bold")
    for e in found:
        table.add_row(
            str(e.id), render.when(e.created_at), escape(e.monitor), e.kind, escape(e.message)
        )
    st.console.print(table if found else "No events.")


def _result_dict(result: object) -> dict[str, object]:
    data = render.as_plain(result)
    assert isinstance(data, dict)
    data["result"] = json.loads(str(data["result"]))
    return data


def _timeline_table(results: list[MonitorResult]) -> Table:
    table = Table(
        "window",
        "rows",
        "drifted",
        "share",
        "performance",
        "quality",
        box=None,
        header_style="bold",
    )
    for r in results:
        data = json.loads(r.result)
        perf = data["performance"]
        value = "-" if perf["value"] is None else f"{perf['metric']} {perf['value']:.4g}"
        if perf["decayed"]:
            value = f"[red]{value}[/red]"
        quality = data["quality"]
        table.add_row(
            render.when(r.window_start),
            f"{r.rows:,}",
            "[red]yes[/red]" if r.drifted else "no",
            f"{r.share:.0%}",
            value,
            "ok" if quality["passed"] else f"[red]{quality['errors']} errors[/red]",
        )
    return table
