"""The agent: evaluates every policy's triggers and moves its jobs on, one tick at a time.

    agent = Agent(mloop.Client(), load_policies("mloop.yaml"))
    agent.check()                   # bad policies fail here, before any work
    agent.tick()                    # what `mloop agent --once` does
    agent.run(interval=10)          # what `mloop agent` does, until stopped

A tick is idempotent: all its state (trigger cursors, jobs, their stages) is in the
store, every change is written with its decision event in one transaction, and a
change is only made from the state it was decided on. So an agent can be stopped at
any moment and started again (or two can run) without a trigger firing twice or a
decision being lost; an interrupted pipeline run is run again, reusing its cached steps.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from mloop.automation import rollout, train
from mloop.automation.context import Context, Decision, job_data
from mloop.automation.policy import LATEST, Policy
from mloop.automation.triggers import Firing, check_triggers, current_cursor, firing
from mloop.data.client import DataClient
from mloop.errors import Conflict, InvalidArgument, MloopError, NotFound
from mloop.pipelines import load_pipeline
from mloop.store import AutomationEvent, Job, JobState, NewJob
from mloop.store.entities import now_ms
from mloop.tracking.client import Client

logger = logging.getLogger("mloop.automation")
MANUAL = "manual"

Step = Callable[[Context, Job, dict[str, Any]], Decision | None]
STEPS: dict[JobState, Step] = {
    JobState.QUEUED: train.train,
    JobState.TRAINED: lambda ctx, job, data: train.gate(ctx, data),
    JobState.GATED: lambda ctx, job, data: rollout.start(ctx, data),
    JobState.ROLLING: lambda ctx, job, data: rollout.watch(ctx, data),
    JobState.WATCHING: lambda ctx, job, data: rollout.after(ctx, data),
}


class Agent:
    def __init__(
        self, client: Client, policies: Sequence[Policy], project: str = "default"
    ) -> None:
        names = [p.name for p in policies]
        if len(set(names)) != len(names):
            raise InvalidArgument("two policies have the same name")
        self.client = client
        self.policies = {p.name: p for p in policies}
        self.project = project

    def check(self) -> None:
        """Refuse policies naming what does not exist (datasets, monitors, the
        deployment, the pipeline) before any work starts."""
        store = self.client.store
        for policy in self.policies.values():
            check_triggers(store, policy, self.project)
            try:
                store.deployments.get(policy.deployment, self.project)
                for name in policy.datasets():
                    store.datasets.get(name, self.project)
                for monitor in policy.rebase.monitors if policy.rebase else ():
                    store.monitors.get(monitor, self.project)
            except NotFound as exc:
                raise InvalidArgument(f"policy {policy.name}: {exc}") from None
            pipeline = load_pipeline(policy.pipeline)
            pipeline.bind(self._params(policy, resolve=False))

    def tick(self, now: int | None = None) -> list[AutomationEvent]:
        """Evaluate every trigger once and move every active job as far as it can go
        now; returns the decisions made."""
        store = self.client.store.automation
        first = store.events(project=self.project)
        after = first[-1].id if first else 0
        for policy in self.policies.values():
            self._arm(policy, now or now_ms())
            self._fire(policy, now or now_ms())
            for job in store.jobs(policy.name, active=True, project=self.project):
                self._advance(policy, job)
        return store.events(after=after, project=self.project)

    def run(
        self,
        interval: float = 10.0,
        stop: threading.Event | None = None,
        on_events: Callable[[list[AutomationEvent]], None] | None = None,
    ) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                events = self.tick()
            except MloopError as exc:  # the store is away for a moment: try again later
                logger.error("mloop agent: %s", exc)
                events = []
            if on_events is not None and events:
                on_events(events)
            stop.wait(interval)

    def trigger(self, policy: str, reason: str = "") -> Job | None:
        """Start a run of ``policy`` by hand (``mloop agent trigger``); the next tick runs it."""
        found = self._policy(policy)
        now = now_ms()
        fired = Firing(MANUAL, f"{MANUAL}:{uuid.uuid4().hex}", "", reason or "triggered by hand")
        return self._open(found, fired, now, cursor=None)

    def _policy(self, name: str) -> Policy:
        if name not in self.policies:
            known = ", ".join(self.policies) or "none"
            raise NotFound(f"no automation policy named {name!r} (policies: {known})")
        return self.policies[name]

    def _arm(self, policy: Policy, now: int) -> None:
        store = self.client.store
        armed = store.automation.cursors(policy.name, self.project)
        for trigger in policy.triggers:
            if trigger.kind == MANUAL or trigger.key in armed:
                continue
            cursor = current_cursor(store, trigger, now, self.project)
            ctx = Context(self.client, policy, self.project, now)
            message = f"watching {trigger.key} from {cursor}"
            event = ctx.event("armed", message, trigger=trigger.key, cursor=cursor)
            store.automation.arm(policy.name, trigger.key, cursor, event, self.project)

    def _fire(self, policy: Policy, now: int) -> None:
        store = self.client.store
        cursors = store.automation.cursors(policy.name, self.project)
        for trigger in policy.triggers:
            if trigger.key not in cursors:
                continue
            found = firing(store, trigger, cursors[trigger.key], now, self.project)
            if found is None:
                continue
            old = cursors[trigger.key]
            if not found.dedupe:  # nothing to act on: only move past what was seen
                store.automation.move_cursor(
                    policy.name, trigger.key, old, found.cursor, self.project
                )
                continue
            self._open(policy, found, now, cursor=(old, found.cursor))

    def _open(
        self, policy: Policy, fired: Firing, now: int, cursor: tuple[str, str] | None
    ) -> Job | None:
        busy = self._busy(policy, now)
        if busy is None:
            try:
                return self._write(policy, fired, now, cursor, None)
            except Conflict:  # another agent opened a run of this policy meanwhile
                busy = self._busy(policy, now) or "another run started meanwhile"
        return self._write(policy, fired, now, cursor, busy)

    def _write(
        self,
        policy: Policy,
        fired: Firing,
        now: int,
        cursor: tuple[str, str] | None,
        busy: str | None,
    ) -> Job | None:
        ctx = Context(self.client, policy, self.project, now)
        if busy is not None:
            state, kind, message = JobState.SKIPPED, "skipped", f"{fired.reason}; skipped: {busy}"
            data: dict[str, Any] = {"reason": fired.reason}
        else:
            state, kind, message = JobState.QUEUED, "triggered", fired.reason
            data = {"reason": fired.reason, "params": self._params(policy, resolve=True)}
            if policy.gate is not None:
                data["gate_data"] = _resolve(self.client, policy.gate.data, self.project)
            if policy.rebase is not None:
                data["reference"] = _resolve(self.client, policy.rebase.reference, self.project)
        new = NewJob(policy.name, fired.trigger, fired.dedupe, state, json.dumps(data), now)
        event = ctx.event(kind, message, trigger=fired.trigger, **fired.details)
        return self.client.store.automation.open_job(new, event, cursor, self.project)

    def _busy(self, policy: Policy, now: int) -> str | None:
        """Why a new run of ``policy`` must wait, or None."""
        jobs = self.client.store.automation.jobs(policy.name, project=self.project)
        ran = [j for j in jobs if j.state is not JobState.SKIPPED]
        if not ran:
            return None
        last = ran[-1]
        if last.state.active:
            return f"run {last.id} is still {last.state.value}"
        if now - last.updated_at < policy.cooldown_ms:
            return f"run {last.id} ended less than {policy.cooldown} ago (cooldown)"
        return None

    def _params(self, policy: Policy, *, resolve: bool) -> dict[str, Any]:
        if not resolve:
            return dict(policy.params)
        return {
            k: _resolve(self.client, v, self.project) if isinstance(v, str) else v
            for k, v in policy.params.items()
        }

    def _advance(self, policy: Policy, job: Job) -> None:
        """Move ``job`` on while its steps decide something now."""
        store = self.client.store.automation
        while job.state.active:
            ctx = Context(self.client, policy, self.project, now_ms())
            try:
                decision = STEPS[job.state](ctx, job, job_data(job))
            except Exception as exc:  # user code (pipelines, models) must not stop the agent
                reason = str(exc) if isinstance(exc, MloopError) else f"{type(exc).__name__}: {exc}"
                logger.exception("mloop agent: job %d of %s failed", job.id, policy.name)
                decision = Decision(
                    JobState.FAILED,
                    job_data(job),
                    [
                        ctx.event(
                            "failed", f"the {job.state.value} job's next step failed: {reason}"
                        )
                    ],
                )
            if decision is None:
                return
            try:
                job = store.advance(
                    job.id, job.state, decision.state, json.dumps(decision.data), decision.events
                )
            except Conflict:  # another agent moved it meanwhile
                return


def _resolve(client: Client, value: str, project: str) -> str:
    """``NAME@latest`` as the version it is now (``NAME@N``); other text unchanged."""
    if not value.endswith(LATEST):
        return value
    data = DataClient(client)
    try:
        return data.version(value).ref
    finally:
        data.close()
