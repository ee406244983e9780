"""``mloop runs``: list, show, compare and annotate runs."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import state
from mloop.store.entities import NoteOutcome, Run

app = typer.Typer(help="List, inspect, compare and annotate runs.", no_args_is_help=True)

_DEFAULT_KEYS = 3
_MAX_NAME = 28
_MIN_WIDTHS = {"id": 8, "status": 8, "start_time": 11, "duration": 8}
_HEADER_STYLES = {"metrics": "bold magenta", "params": "bold cyan", "tags": "bold green"}
_KINDS = {"metric": "metrics", "param": "params", "tag": "tags"}


@app.command("list")
def list_runs(
    ctx: typer.Context,
    filter: Annotated[
        str | None,
        typer.Option("--filter", "-f", help="e.g. \"params.lr = '0.1' AND metrics.acc > 0.9\""),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", "-o", help="e.g. 'metrics.acc DESC' (repeatable)"),
    ] = None,
    experiment: Annotated[
        list[str] | None,
        typer.Option("--experiment", "-e", help="Only these experiments (repeatable)."),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option("--columns", "-c", help="Comma-separated, e.g. 'name,params.lr,metrics.acc'."),
    ] = None,
    max_results: Annotated[
        int, typer.Option("--max", "-n", min=1, max=50_000, help="At most this many runs.")
    ] = 50,
    page_token: Annotated[
        str | None, typer.Option("--page-token", help="Continue from a --json next_page_token.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List runs, newest first.

    Filters combine params.KEY, metrics.KEY (latest value), tags.KEY and
    attributes.status|name|user|start_time|end_time|run_id|experiment_id with
    = != < <= > >= LIKE ILIKE IN, AND, OR and parentheses.

    Example: mloop runs list -f "metrics.acc > 0.9 OR params.model = 'rf'" -o "metrics.acc DESC"
    """
    st = state(ctx)
    page = st.client().search_runs(
        filter,
        experiments=experiment,
        order_by=order_by or (),
        max_results=max_results,
        page_token=page_token,
    )
    if as_json:
        render.print_json(st.console, {"runs": page.items, "next_page_token": page.next_token})
        return
    if not page.items:
        empty = "No runs match." if filter else "No runs yet: start one with mloop.start_run()."
        st.console.print(empty)
        return
    wanted = (
        [c.strip() for c in columns.split(",")]
        if columns
        else _default_columns(page.items, st.console.width)
    )
    _print_table(st.console, page.items, wanted)
    if page.next_token:
        st.console.print(f"[dim]more runs: --page-token {page.next_token}[/dim]", soft_wrap=True)


def _print_table(console: Console, runs: list[Run], wanted: list[str]) -> None:
    """Metric, param and tag columns are headed by their key, with the kind beneath."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in wanted:
        kind, _, key = column.partition(".")
        kind = _KINDS.get(kind, kind)
        header = f"{escape(key)}\n[dim]{kind[:-1]}[/dim]" if kind in _HEADER_STYLES else column
        table.add_column(
            header,
            header_style=_HEADER_STYLES.get(kind, "bold"),
            no_wrap=True,
            overflow="ellipsis",
            min_width=_MIN_WIDTHS.get(column),
            max_width=_MAX_NAME if column == "name" else None,
        )
    for run in runs:
        table.add_row(*(_cell(run, column) for column in wanted))
    console.print(table)


def _default_columns(runs: list[Run], width: int) -> list[str]:
    """The run's identity, then as many metrics and params (three each at most) as fit."""
    base = ["id", "name", "status", "start_time", "duration"]
    if width < 100:
        base.remove("duration")
    names = max((len(r.name) for r in runs), default=4)
    room = width - sum(_MIN_WIDTHS.get(c, min(names, _MAX_NAME)) + 2 for c in base)
    metric_keys = _common_keys([r.metrics for r in runs])
    param_keys = _common_keys([r.params for r in runs])
    extra = []
    for column in (*(f"metrics.{k}" for k in metric_keys), *(f"params.{k}" for k in param_keys)):
        needed = max(len(column.partition(".")[2]), 8) + 2
        if needed <= room:
            extra.append(column)
            room -= needed
    return base + extra


def _common_keys(values: list[dict[str, str]] | list[dict[str, float]]) -> list[str]:
    """The keys most runs have (then alphabetical), at most ``_DEFAULT_KEYS``."""
    counts = Counter(key for mapping in values for key in mapping)
    return sorted(counts, key=lambda key: (-counts[key], key))[:_DEFAULT_KEYS]


def _cell(run: Run, column: str) -> str:
    kind, _, key = column.partition(".")
    if kind in ("metrics", "metric") and key:
        value = run.metrics.get(key)
        return "" if value is None else render.number(value)
    if kind in ("params", "param") and key:
        return escape(run.params.get(key, ""))
    if kind in ("tags", "tag") and key:
        return escape(run.tags.get(key, ""))
    attribute = key if kind in ("attributes", "attr") else column
    match attribute:
        case "id" | "run_id":
            return run.id[:8]
        case "status":
            return f"[{render.status_style(run.status)}]{run.status}[/]"
        case "start_time" | "started":
            return render.when(run.start_time, short=True)
        case "end_time":
            return render.when(run.end_time)
        case "duration":
            return render.duration(run)
        case "name" | "user" | "parent_id" | "experiment_id":
            return escape(str(getattr(run, attribute) or ""))
    return ""


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id or a unique prefix (4+ characters).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a run: status, params, latest metrics, tags, source, data used, artifacts, notes.

    Example: mloop runs show 3fa2c1
    """
    from mloop.cli.run_view import show_run

    show_run(state(ctx), run_id, as_json=as_json)


@app.command("compare")
def compare(
    ctx: typer.Context,
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids (or prefixes).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare runs side by side: params and final metrics, differences highlighted.

    Example: mloop runs compare 3fa2c1 9b07de
    """
    from mloop.cli.run_view import compare_runs

    compare_runs(state(ctx), run_ids, as_json=as_json)


@app.command("note")
def note(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id or a unique prefix.")],
    text: Annotated[str, typer.Argument(help="What was tried, what was learned.")],
    outcome: Annotated[
        NoteOutcome | None, typer.Option("--outcome", help="Did it work?", case_sensitive=False)
    ] = None,
) -> None:
    """Write down what a run tried and whether it worked.

    Example: mloop runs note 3fa2c1 "doubled the learning rate: diverged" --outcome failed
    """
    st = state(ctx)
    client = st.client()
    run_id = client.resolve_run_id(run_id)
    client.add_note(run_id, text, outcome)
    st.console.print(f"Noted on run {run_id[:8]}.")


@app.command("reproduce")
def reproduce(
    ctx: typer.Context,
    run_ref: Annotated[
        str,
        typer.Argument(
            help="A pipeline run, or a tracked run of a pipeline or of one of its steps."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run a pipeline run again from its recorded commit (a clean git worktree), with its
    parameters and no cache, and compare every step's output; exit 9 if any differs.

    Example: mloop runs reproduce 3fa2c1d9
    """
    from mloop.errors import CHECKS_FAILED, NotFound
    from mloop.pipelines.execute import PIPELINE_TAG
    from mloop.pipelines.reproduce import reproduce as run_again

    st = state(ctx)
    client = st.client()
    try:
        pipeline_run = client.store.pipelines.get_run(run_ref).id
    except NotFound:
        tags = client.get_run(run_ref).tags
        if PIPELINE_TAG not in tags:
            raise NotFound(
                f"run {run_ref} is not a pipeline run or a step of one: reproduce works on "
                "pipeline runs (`mloop pipeline list`)"
            ) from None
        pipeline_run = tags[PIPELINE_TAG]
    result = run_again(pipeline_run, client=client)
    if as_json:
        render.print_json(st.console, result)
    else:
        dirty = " (the original had uncommitted changes: they are not in the commit)"
        st.console.print(
            f"Ran {result.original[:12]} again at commit {result.commit[:10]} as "
            f"{result.again[:12]}{dirty if result.dirty else ''}: "
            + (
                "[green]every output is identical[/green]"
                if result.identical
                else "[red]outputs differ[/red]"
            )
        )
        for step in result.steps:
            mark = "same" if step.same else f"[red]differs[/red] {escape(step.detail)}"
            st.console.print(f"  {escape(step.node)}: {step.original} → {step.again} {mark}")
    if not result.identical:
        raise typer.Exit(CHECKS_FAILED)
