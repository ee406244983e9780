"""``mloop demo``: the whole loop on a year of bike rentals, told as it happens.

2011 is versioned, validated, trained on, evaluated, registered and served. The first
months of 2012 are replayed as traffic with their true counts as feedback; the monitor
finds drift and decay, the agent retrains on the new data, the gate compares the
candidate with the champion, a canary watches it on live traffic and promotes it.
Then a broken candidate is stopped at the gate.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape

from mloop.automation import Agent, Gate, Policy, Rebase, Rollout, Trigger
from mloop.blobs import Digest
from mloop.data.client import DataClient
from mloop.demo import bikes
from mloop.demo.traffic import Replay, Server, replay, serving
from mloop.errors import BackendUnavailable
from mloop.evaluation.record import evaluate
from mloop.monitoring import Monitors
from mloop.pipelines import Pipeline, load_pipeline
from mloop.registry import Registry
from mloop.registry.card_render import to_html
from mloop.serving.deployments import Deployments
from mloop.store import AutomationEvent, upgrade_store
from mloop.tracking.client import Client
from mloop.workspace import blobs_root, create_workspace, database_uri

PIPELINE = "mloop.demo.bikes:training"
GATE = ("rmse<=+0", "mae<=+0")
GUARDS = ("mae<=+30", "latency_p95_ms<=250")


@dataclass
class Outcome:
    workspace: Path
    events: list[AutomationEvent] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)
    failed_requests: int = 0


def policies() -> list[Policy]:
    gate = Gate("bikes-recent@latest", bikes.TARGET, "regression", rules=GATE)
    common = {"pipeline": PIPELINE, "model": "bikes", "deployment": "bikes-api", "gate": gate}
    return [
        Policy(
            "bikes-retrain",
            params={"data": "bikes@latest"},
            triggers=(Trigger.drift("bikes-watch"), Trigger.decay("bikes-watch")),
            rollout=Rollout("canary", steps=(25, 100), watch="3s", guards=GUARDS, min_rows=96),
            cooldown="1h",
            rebase=Rebase(("bikes-watch",), "bikes@latest"),
            **common,  # type: ignore[arg-type]
        ),
        Policy(
            "bikes-experimental",
            params={"data": "bikes@latest", "broken": True},
            rollout=Rollout("direct"),
            **common,  # type: ignore[arg-type]
        ),
    ]


def run_demo(folder: Path, console: Console) -> Outcome:
    """The whole loop in the workspace ``folder`` (created), narrated on ``console``."""
    started = time.monotonic()
    folder = folder.resolve()  # the server runs in it: relative paths would point elsewhere
    create_workspace(folder)
    upgrade_store(database_uri(folder))
    outcome = Outcome(folder)
    frame = bikes.load()
    console.print(f"[bold]Data[/bold]: {bikes.SOURCE}; {len(frame):,} hours of 2011-2012.")
    with Client(database_uri(folder), blobs=str(blobs_root(folder))) as client:
        _first_release(client, frame, console)
        agent = Agent(client, policies())
        agent.check()
        uri, blobs = database_uri(folder), str(blobs_root(folder))
        try:
            agent.tick()  # arm the triggers: what happened before does not count
            with serving(folder, "bikes-api", uri, blobs) as server:
                _traffic_and_monitor(client, server, frame, console)
                _add_new_data(client, frame, console)
                failed = _retrain_and_roll_out(client, agent, server, frame, console)
                outcome.failed_requests = failed
                _broken_candidate(agent, console)
        finally:
            agent.release()  # so `mloop agent` can go on in this workspace at once
        outcome.events = client.store.automation.events()
        outcome.reports = _reports(client, folder)
    for path in outcome.reports:
        console.print(f"Written: {path}")
    console.print(f"[bold]Done[/bold] in {time.monotonic() - started:.0f} s.")
    return outcome


def _first_release(client: Client, frame: pd.DataFrame, console: Console) -> None:
    data = DataClient(client)
    v1 = data.add(bikes.months(frame, "2011-01", "2011-12"), "bikes", message="2011").version
    data.set_schema("bikes", data.infer_schema(v1))
    recent = data.add(bikes.months(frame, "2011-12", "2011-12"), "bikes-recent").version
    report = data.validate(v1)
    console.print(
        f"[bold]1. Version and validate[/bold]: {v1.ref} ({v1.rows:,} hours of 2011), "
        f"schema inferred and attached; validation {'passed' if report.passed else 'FAILED'}."
    )
    result = _pipeline().run({"data": v1.ref}, client=client)
    step = next(s for s in result.steps if s.node == "fit")
    registry = Registry(client)
    version = registry.register(f"runs:/{step.run_id}/output", "bikes")
    scored = evaluate(
        version.uri,
        recent.ref,
        target=bikes.TARGET,
        task="regression",
        importance=False,
        client=client,
    )
    registry.promote(version.uri, reason="first release")
    Deployments(client).create("bikes-api", "models:/bikes@champion", reason="first release")
    console.print(
        f"[bold]2. Train, evaluate, register, deploy[/bold]: pipeline run "
        f"{result.run.id[:12]} trained {version.uri}; on {recent.ref} (Dec 2011) "
        f"{scored.summary()}; it is bikes@champion, served by deployment bikes-api."
    )
    Monitors(client).create(
        "bikes-watch",
        deployment="bikes-api",
        reference=v1.ref,
        window="720rows",
        target=bikes.TARGET,
    )


def _traffic_and_monitor(
    client: Client, server: Server, frame: pd.DataFrame, console: Console
) -> None:
    hours = bikes.months(frame, "2012-01", "2012-03")
    sent = replay(server, hours)
    _wait_logged(client, sent.rows)
    console.print(
        f"[bold]3. Serve[/bold]: replayed {sent.rows:,} hours of Jan-Mar 2012 through "
        f"http://127.0.0.1:{server.port}/predict, a day per request, with the true counts "
        f"posted to /feedback ({len(sent.failures)} failed requests)."
    )
    if sent.failures:
        raise BackendUnavailable(f"the server refused the traffic: {sent.failures[0]}")
    results = Monitors(client).run("bikes-watch")
    events = client.store.monitors.events("bikes-watch")
    kinds = sorted({e.kind for e in events})
    console.print(
        f"[bold]4. Monitor[/bold]: bikes-watch computed {len(results)} windows of 720 "
        f"predictions; events: {', '.join(kinds) or 'none'}."
    )
    for event in events[-2:]:
        console.print(f"   {escape(event.message)}")


def _add_new_data(client: Client, frame: pd.DataFrame, console: Console) -> None:
    data = DataClient(client)
    v2 = data.add(bikes.months(frame, "2011-01", "2012-03"), "bikes", message="to Mar 2012")
    recent = data.add(bikes.months(frame, "2012-03", "2012-03"), "bikes-recent").version
    console.print(
        f"[bold]5. New data[/bold]: the labelled traffic makes {v2.version.ref} "
        f"({v2.version.rows:,} hours to March 2012) and {recent.ref} (March 2012)."
    )


def _retrain_and_roll_out(
    client: Client, agent: Agent, server: Server, frame: pd.DataFrame, console: Console
) -> int:
    """Tick the agent while April to June 2012 goes on arriving, until the run ends."""
    console.print("[bold]6. The agent[/bold] (what `mloop agent` does, and `mloop events` shows):")
    stop = threading.Event()
    seen: list[Replay] = []
    hours = bikes.months(frame, "2012-04", "2012-06")
    thread = threading.Thread(target=lambda: seen.append(replay(server, hours, stop)))
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            _narrate(agent.tick(), console)
            if not client.store.automation.jobs("bikes-retrain", active=True):
                break
            time.sleep(0.5)
        else:
            raise BackendUnavailable("the retraining run did not finish within 120 s")
    finally:
        stop.set()
        thread.join(60)
    failures = len(seen[0].failures) if seen else 0
    answered = ", ".join(f"{m}: {n}" for m, n in sorted(seen[0].answered.items())) if seen else ""
    console.print(f"   meanwhile the server answered ({answered}), {failures} failed requests")
    return failures


def _broken_candidate(agent: Agent, console: Console) -> None:
    console.print("[bold]7. A broken candidate[/bold] (trained on misaligned labels):")
    agent.trigger("bikes-experimental", "a new join of the labels")
    _narrate(agent.tick(), console)


def _narrate(events: list[AutomationEvent], console: Console) -> None:
    for event in events:
        if event.kind == "armed":
            continue
        console.print(f"   [cyan]{event.kind}[/cyan] ({event.policy}): {escape(event.message)}")


def _wait_logged(client: Client, rows: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        segments = client.store.predictions.segments(deployment="bikes-api")
        if sum(segment.rows for segment in segments) >= rows:
            return
        time.sleep(0.2)
    raise BackendUnavailable(f"the server's log did not reach {rows} rows in {seconds:.0f} s")


def _reports(client: Client, folder: Path) -> list[Path]:
    out = folder / "reports"
    out.mkdir(exist_ok=True)
    written = []
    results = [r for r in client.store.monitors.results("bikes-watch") if r.report]
    if results:
        path = out / "bikes-watch.html"
        path.write_bytes(client.blobs.get_bytes(Digest(results[-1].report or "")))
        written.append(path)
    card = out / "bikes-champion-card.html"
    card.write_text(to_html(Registry(client).card("bikes@champion")), encoding="utf-8")
    written.append(card)
    decisions = out / "decisions.json"
    events = client.store.automation.events()
    decisions.write_text(
        json.dumps(
            [{"kind": e.kind, "policy": e.policy, "message": e.message} for e in events], indent=2
        ),
        encoding="utf-8",
    )
    written.append(decisions)
    return written


def _pipeline() -> Pipeline:
    return load_pipeline(PIPELINE)
