"""``mloop agent`` and ``mloop events``: the loop that retrains, gates, rolls out and
rolls back on its own, and the log of every decision it made."""

from __future__ import annotations

import json
import signal
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import State, state

if TYPE_CHECKING:
    from mloop.automation import Agent
    from mloop.store import AutomationEvent

app = typer.Typer(
    help=(
        "The automation agent: for each policy (in ./mloop.yaml or --policy), it watches "
        "the triggers (cron schedule, new dataset versions, monitor drift and decay "
        "events, manual), runs the training pipeline, gates the candidate against the "
        "champion, rolls it out (direct, canary or shadow first) while watching guard "
        "metrics on live traffic, and rolls back on a breach. Safe to stop and restart."
    ),
    invoke_without_command=True,
)
PolicyOption = Annotated[
    str | None,
    typer.Option(
        "--policy",
        "-P",
        help="Policies: a YAML file or module:name (a Policy or a list); default ./mloop.yaml.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
POLICY_KEY = "mloop.agent.policy"
KIND_STYLE = {
    "triggered": "cyan",
    "skipped": "dim",
    "gated_out": "red",
    "failed": "red",
    "rolled_back": "red",
    "promoted": "green",
    "done": "green",
    "gate_passed": "green",
}


@app.callback()
def agent(
    ctx: typer.Context,
    policy: PolicyOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Evaluate everything once and exit (for cron or CI).")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between two evaluations.", min=0.1)
    ] = 10.0,
    as_json: AsJson = False,
) -> None:
    """Run the automation loop until stopped (Ctrl-C or SIGTERM finish the current step).

    Example mloop.yaml:

        policies:
          - name: bikes-retrain
            pipeline: bikes_pipeline:training
            params: {data: bikes@latest}
            model: bikes
            deployment: bikes-api
            triggers: [{drift: bikes-watch}, {schedule: "0 3 * * 1"}]
            gate: {data: bikes-holdout@latest, target: cnt, task: regression,
                   rules: ["mae<=+0"]}
            rollout: {strategy: canary, steps: [10, 50, 100], watch: 10m,
                      guards: ["mae<=+5", "latency_p95_ms<=50"]}
    """
    if ctx.invoked_subcommand is not None:
        ctx.meta[POLICY_KEY] = policy  # `mloop agent --policy F trigger P` means F too
        return
    st = state(ctx)
    found = _agent(st, policy)
    if once:
        try:
            _print_events(st, found.tick(), as_json)
        finally:
            found.release()
        _print_held(st, found)
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    st.console.print(
        f"mloop agent: {len(found.policies)} policies, every {render.number(interval)} s "
        "(Ctrl-C stops)"
    )

    def report(events: list[AutomationEvent]) -> None:
        _print_events(st, events, as_json)
        _print_held(st, found)

    found.run(interval, stop, on_events=report)


@app.command("trigger")
def trigger(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The policy to run.")],
    policy: PolicyOption = None,
    reason: Annotated[str, typer.Option("--reason", "-m", help="Why, for the log.")] = "",
) -> None:
    """Start a run of a policy by hand; the agent's next evaluation runs it.

    Example: mloop agent trigger bikes-retrain --reason "new feature list"
    """
    st = state(ctx)
    job = _agent(st, policy or ctx.meta.get(POLICY_KEY)).trigger(name, reason)
    if job is None:
        st.console.print("nothing opened")
        return
    st.console.print(f"job {job.id} of {escape(name)}: {job.state.value}")


@app.command("check")
def check(ctx: typer.Context, policy: PolicyOption = None) -> None:
    """Check the policies: the file, and that what they name exists (exit 0 when fine).

    Example: mloop agent check --policy mloop.yaml
    """
    st = state(ctx)
    found = _agent(st, policy or ctx.meta.get(POLICY_KEY))
    st.console.print(f"{len(found.policies)} policies are fine: {', '.join(found.policies)}")


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    job: Annotated[int, typer.Argument(help="The job (see `mloop agent jobs`).")],
    policy: PolicyOption = None,
    reason: Annotated[str, typer.Option("--reason", "-m", help="Why, for the log.")] = "",
) -> None:
    """End an active job, putting back what it changed: a canary's or shadow's routes,
    a promotion still being watched.

    Example: mloop agent cancel 12 --reason "the release is frozen"
    """
    st = state(ctx)
    ended = _agent(st, policy or ctx.meta.get(POLICY_KEY), check=False).cancel(job, reason)
    st.console.print(f"job {ended.id} of {escape(ended.policy)}: {ended.state.value}")


@app.command("jobs")
def jobs(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--policy-name", help="One policy only.")] = None,
    active: Annotated[bool, typer.Option("--active", help="Unfinished jobs only.")] = False,
    as_json: AsJson = False,
) -> None:
    """The runs the triggers opened, and where each one is.

    Example: mloop agent jobs --active
    """
    st = state(ctx)
    found = st.client().store.automation.jobs(name, active=active)
    if as_json:
        render.print_json(st.console, [render.as_plain(j) for j in found])
        return
    table = Table("job", "policy", "trigger", "state", "candidate", "opened", "updated")
    for job in found:
        data: dict[str, Any] = json.loads(job.data)
        table.add_row(
            str(job.id),
            escape(job.policy),
            escape(job.trigger),
            job.state.value,
            escape(str(data.get("candidate", "-"))),
            render.when(job.created_at, short=True),
            render.when(job.updated_at, short=True),
        )
    st.console.print(table)


def events(
    ctx: typer.Context,
    policy: Annotated[str | None, typer.Option("--policy", help="One policy only.")] = None,
    job: Annotated[int | None, typer.Option("--job", help="One job only.")] = None,
    after: Annotated[int, typer.Option("--after", help="Only events with a larger id.")] = 0,
    as_json: AsJson = False,
) -> None:
    """The automation's decisions, oldest first: triggered, skipped, gated out,
    promoted, rolled back, each with its reason. The log is append-only.

    Example: mloop events --policy bikes-retrain
    """
    st = state(ctx)
    found = st.client().store.automation.events(policy, after=after, job_id=job)
    _print_events(st, found, as_json)


def _agent(st: State, policy: str | None, *, check: bool = True) -> Agent:
    from mloop.automation import Agent, load_policies

    found = Agent(st.client(), load_policies(policy))
    if check:  # what the policies name exists (cancelling needs none of it)
        found.check()
    return found


def _print_held(st: State, found: Agent) -> None:
    for name in found.held_elsewhere:
        st.console.print(
            f"[yellow]policy {escape(name)} is held by another agent[/yellow]: left alone "
            "(it is free again when that agent stops, or two minutes after it died)"
        )


def _print_events(st: State, found: list[AutomationEvent], as_json: bool) -> None:
    if as_json:
        rows = [{**render.as_plain(e), "details": json.loads(e.details)} for e in found]
        render.print_json(st.console, rows)
        return
    for event in found:
        style = KIND_STYLE.get(event.kind, "")
        kind = f"[{style}]{event.kind}[/{style}]" if style else event.kind
        job = f" job {event.job_id}" if event.job_id is not None else ""
        st.console.print(
            f"{event.id:>5} {render.when(event.created_at, short=True)} "
            f"{escape(event.policy)}{job} {kind}: {escape(event.message)}"
        )
