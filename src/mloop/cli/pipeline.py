"""``mloop pipeline``: run, resume and inspect pipelines of cached, tracked steps."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import state
from mloop.errors import InvalidArgument

if TYPE_CHECKING:
    from mloop.pipelines.graph import Graph
    from mloop.store import StepRun

app = typer.Typer(
    help=(
        "Pipelines: @mloop.step functions wired by an @mloop.pipeline function, every step "
        "cached by its code and inputs and tracked as a run, on a local or Dask executor."
    ),
    no_args_is_help=True,
)
Executor = Annotated[
    str,
    typer.Option(
        "--executor",
        "-x",
        help="local, subprocess, dask (a LocalCluster on 127.0.0.1) or tcp://HOST:PORT.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
STATUS_STYLE = {"DONE": "green", "REUSED": "cyan", "FAILED": "red"}


@app.command("run")
def run(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="The pipeline: module:function.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="NAME=VALUE (repeatable; JSON values)."),
    ] = None,
    executor: Executor = "local",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step again.")] = False,
    as_json: AsJson = False,
) -> None:
    """Run a pipeline; steps whose code and inputs did not change are reused.

    Example: mloop pipeline run flows:training --param alpha=0.3 --executor dask
    """
    from mloop.pipelines import load_pipeline

    st = state(ctx)
    found = load_pipeline(reference)
    result = found.run(_params(param), executor=executor, cache=not no_cache, client=st.client())
    _print_result(st, result.run.id, result.steps, result.graph, as_json)


@app.command("resume")
def resume(
    ctx: typer.Context,
    run_id: Annotated[
        str, typer.Argument(help="The pipeline run (an id prefix of 4+ characters).")
    ],
    executor: Executor = "local",
    as_json: AsJson = False,
) -> None:
    """Run a failed pipeline run again with its parameters; its finished steps are reused.

    Example: mloop pipeline resume 3fa2c1d9
    """
    from mloop.pipelines import resume as resume_run

    st = state(ctx)
    result = resume_run(run_id, client=st.client(), executor=executor)
    _print_result(st, result.run.id, result.steps, result.graph, as_json)


@app.command("list")
def list_runs(
    ctx: typer.Context,
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", help="Only this module:function.")
    ] = None,
    limit: Annotated[int, typer.Option("--max", "-n", help="At most this many runs.")] = 20,
    as_json: AsJson = False,
) -> None:
    """The newest pipeline runs first.

    Example: mloop pipeline list
    """
    st = state(ctx)
    if not 1 <= limit <= 10_000:
        raise InvalidArgument("--max is 1 to 10,000")
    runs = st.client().store.pipelines.list_runs(pipeline, limit)
    if as_json:
        render.print_json(st.console, runs)
        return
    if not runs:
        st.console.print("No pipeline runs yet: `mloop pipeline run module:function`.")
        return
    table = Table(
        "id",
        "pipeline",
        "status",
        "executor",
        "started",
        "took",
        "params",
        box=None,
        header_style="bold",
    )
    for r in runs:
        took = "-" if r.ended_at is None else f"{(r.ended_at - r.created_at) / 1000:.2f}s"
        table.add_row(
            r.id[:12],
            escape(r.pipeline),
            r.status.value,
            escape(r.executor),
            render.when(r.created_at, short=True),
            took,
            escape(r.params),
        )
    st.console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[
        str, typer.Argument(help="The pipeline run (an id prefix of 4+ characters).")
    ],
    as_json: AsJson = False,
) -> None:
    """A pipeline run: its graph and every step run (computed, reused or failed).

    Example: mloop pipeline show 3fa2c1d9
    """
    from mloop.pipelines import load_pipeline

    st = state(ctx)
    store = st.client().store.pipelines
    found = store.get_run(run_id)
    steps = store.steps(found.id)
    try:
        graph = load_pipeline(found.pipeline).graph
    except InvalidArgument:
        graph = None  # the code moved: show the steps without the graph
    if as_json:
        render.print_json(st.console, {"run": found, "steps": steps})
        return
    st.console.print(
        f"[bold]{escape(found.pipeline)}[/bold] run {found.id[:12]}: "
        f"{found.status.value} on {escape(found.executor)}, params {escape(found.params)}"
    )
    if found.error:
        st.console.print(f"[red]{escape(found.error.splitlines()[0])}[/red]")
    _print_result(st, found.id, steps, graph, False, header=False)


def _params(items: list[str] | None) -> dict[str, Any]:
    """``--param NAME=VALUE`` options, each value read as JSON when it is JSON."""
    found: dict[str, Any] = {}
    for name, text in render.parse_pairs(items, "--param", "NAME=VALUE").items():
        try:
            found[name] = json.loads(text)
        except json.JSONDecodeError:
            found[name] = text
    return found


def _print_result(
    st: Any,
    run_id: str,
    steps: list[StepRun],
    graph: Graph | None,
    as_json: bool,
    header: bool = True,
) -> None:
    if as_json:
        render.print_json(st.console, {"run": run_id, "steps": steps})
        return
    if header:
        reused = sum(s.status.value == "REUSED" for s in steps)
        st.console.print(
            f"Pipeline run {run_id[:12]}: {len(steps)} steps, {reused} reused from the cache"
        )
    by_node = {s.node: s for s in steps}
    if graph is not None:
        st.console.print(dag_text(graph, by_node))
    table = Table(
        "step", "status", "took", "attempts", "output", "run", box=None, header_style="bold"
    )
    for s in steps:
        output = json.loads(s.outputs) if s.outputs not in ("", "null") else None
        shown = "-" if not output else f"{output['kind']} {output['digest'][:12]}"
        style = STATUS_STYLE.get(s.status.value, "")
        table.add_row(
            escape(s.node),
            f"[{style}]{s.status.value}[/{style}]",
            f"{(s.ended_at - s.started_at) / 1000:.2f}s",
            str(s.attempts),
            shown,
            (s.run_id or "-")[:8],
        )
    st.console.print(table)


def dag_text(graph: Graph, steps: dict[str, StepRun]) -> str:
    """One line per step in run order: its status and the steps it takes."""
    lines = []
    for node in graph.nodes:
        found = steps.get(node.name)
        mark = (
            {"DONE": "●", "REUSED": "○", "FAILED": "✗"}.get(found.status.value, "·")
            if found
            else "·"
        )
        inputs = ", ".join(node.upstream)
        arrow = f"  ← {inputs}" if inputs else ""
        lines.append(f"  {mark} {node.name}{arrow}")
    return "\n".join(lines) + "\n  (● computed  ○ reused  ✗ failed  · not run)"
