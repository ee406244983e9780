"""The agent: evaluates every policy's triggers and moves its jobs on, one tick at a time.

    agent = Agent(mloop.Client(), load_policies("mloop.yaml"))
    agent.check()                   # bad policies fail here, before any work
    agent.tick()                    # what `mloop agent --once` does (then release())
    agent.run(interval=10)          # what `mloop agent` does, until stopped

A tick is idempotent: all its state (trigger cursors, jobs, their stages) is in the
store, every change is written with its decision event in one transaction, and a
change is only made from the state it was decided on. So an agent can be stopped at
any moment and started again (or two can run) without a trigger firing twice or a
decision being lost; an interrupted pipeline run is run again, reusing its cached steps.

An agent holds each policy it works on (a lease in the store, renewed while it works),
so two agents never act on one policy at once; a stopped agent releases its holds, and
one that died loses them after ``LEASE_MS``.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from mloop.automation import steps
from mloop.automation.context import Context
from mloop.automation.lease import Holds
from mloop.automation.policy import LATEST, Policy
from mloop.automation.rollout import live_deployment
from mloop.automation.triggers import Firing, check_triggers, current_cursor, firing
from mloop.data.client import DataClient
from mloop.errors import BackendUnavailable, Conflict, InvalidArgument, MloopError, NotFound
from mloop.monitoring import alerts
from mloop.pipelines import load_pipeline
from mloop.store import AutomationEvent, Job, JobState, NewJob
from mloop.store.entities import now_ms
from mloop.tracking.client import Client

logger = logging.getLogger("mloop.automation")
MANUAL = "manual"
ALERT_BUDGET = 5.0
"""Seconds a tick may spend sending monitor alerts that are still pending."""


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
        self.id = uuid.uuid4().hex
        self.holds = Holds(client, self.id, project)
        self._orphans: set[int] = set()
        self._training: dict[int, threading.Thread] = {}
        self.held_elsewhere: list[str] = []
        """The policies the last tick left alone: another agent holds them."""

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

    def tick(self, now: int | None = None, *, wait: bool = True) -> list[AutomationEvent]:
        """Evaluate every trigger once and move every active job as far as it can go
        now; returns the decisions made. A policy another agent holds is left alone.

        Without ``wait``, a job that trains goes on in a thread of its own (it carries on
        through its gate) while later ticks watch the other jobs' rollouts."""
        store = self.client.store.automation
        after = store.last_event_id(self.project)
        now = now or now_ms()
        self.held_elsewhere = []
        for policy in self.policies.values():
            if not self.holds.hold(policy.name):
                self.held_elsewhere.append(policy.name)
                continue
            self._fire(policy, now, self._arm(policy, now))
            for listed in store.jobs(policy.name, active=True, project=self.project):
                job = self._current(listed)
                if job is None:
                    continue
                if job.state is JobState.QUEUED:
                    self._train(policy, job, wait)
                else:
                    steps.advance(self.client, policy, self.project, job, self._held(policy))
        self._warn_orphans()
        # Monitor alerts a webhook has not taken yet (the receiver was down at the run).
        alerts.deliver_due(self.client.store.monitors, budget=ALERT_BUDGET)
        return store.events(after=after, project=self.project)

    def run(
        self,
        interval: float = 10.0,
        stop: threading.Event | None = None,
        on_events: Callable[[list[AutomationEvent]], None] | None = None,
    ) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set; training runs beside
        the ticks, so rollouts are watched meanwhile. A training still running when
        the agent stops is done again (from its cached steps) by the next agent."""
        stop = stop or threading.Event()
        try:
            while not stop.is_set():
                try:
                    events = self.tick(wait=False)
                except MloopError as exc:  # the store is away for a moment: try again later
                    logger.error("mloop agent: %s", exc)
                    events = []
                if on_events is not None and (events or self.held_elsewhere):
                    on_events(events)
                stop.wait(interval)
        finally:
            self.release()

    def _train(self, policy: Policy, job: Job, wait: bool) -> None:
        def work() -> None:
            with self.holds.keeping(policy.name) as lost:  # training can take hours
                steps.advance(self.client, policy, self.project, job, lambda: not lost.is_set())

        if wait:
            work()
            return
        thread = threading.Thread(target=work, name=f"mloop-agent-job-{job.id}", daemon=True)
        self._training[job.id] = thread
        thread.start()

    def _held(self, policy: Policy) -> Callable[[], bool]:
        """Renews the hold on ``policy`` and says whether this agent still has it."""
        return lambda: self.holds.hold(policy.name)

    def _current(self, job: Job) -> Job | None:
        """``job`` as it is now, or None while a training thread of this agent has it
        (or when that thread ended it)."""
        thread = self._training.get(job.id)
        if thread is None:
            return job
        if thread.is_alive():
            return None
        del self._training[job.id]
        fresh = self.client.store.automation.job(job.id)
        return fresh if fresh.state.active else None

    def release(self) -> None:
        """Give up this agent's holds on its policies, so another agent can go on now."""
        self.holds.release(list(self.policies))

    def cancel(self, job_id: int, reason: str = "") -> Job:
        """End an active job by hand, putting back what it changed on live traffic (its
        canary routes, its promotion). The job's policy need not be one of this agent's,
        but no other agent may hold it meanwhile."""
        job = self.client.store.automation.job(job_id)
        if not job.state.active:
            raise InvalidArgument(f"job {job_id} has ended already ({job.state.value})")
        if not self.holds.hold(job.policy):
            raise Conflict(
                f"policy {job.policy} is held by another agent, which may be in the middle "
                f"of job {job_id}: stop that agent (or wait for it to end the job)"
            )
        try:
            policy = self.policies.get(job.policy) or _stand_in(job)
            ctx = Context(self.client, policy, self.project, now_ms(), job)
            decision = steps.fail(ctx, job, f"cancelled by hand: {reason or 'no reason given'}")
            if decision is None:
                raise BackendUnavailable(f"job {job_id}: its changes cannot be put back now")
            return self.client.store.automation.advance(
                job.id, job.state, decision.state, json.dumps(decision.data), decision.events
            )
        finally:
            self.holds.release([job.policy])

    def trigger(self, policy: str, reason: str = "") -> Job | None:
        """Start a run of ``policy`` by hand (``mloop agent trigger``); the next tick runs it."""
        found = self._policy(policy)
        now = now_ms()
        fired = Firing(MANUAL, f"{MANUAL}:{uuid.uuid4().hex}", "", reason or "triggered by hand")
        return self._open(found, fired, now, cursor=None)

    def _warn_orphans(self) -> None:
        """Say (once) which active jobs belong to a policy this agent does not have."""
        for job in self.client.store.automation.jobs(active=True, project=self.project):
            if job.policy in self.policies or job.id in self._orphans:
                continue
            if self.holds.held_elsewhere(job.policy):  # another agent looks after it
                continue
            self._orphans.add(job.id)
            logger.warning(
                "mloop agent: job %d of policy %s is %s on %s, and no policy of this agent "
                "is named so: `mloop agent cancel %d` ends it, putting its changes back",
                job.id,
                job.policy,
                job.state.value,
                live_deployment(job) or "its deployment",
                job.id,
            )

    def _policy(self, name: str) -> Policy:
        if name not in self.policies:
            known = ", ".join(self.policies) or "none"
            raise NotFound(f"no automation policy named {name!r} (policies: {known})")
        return self.policies[name]

    def _arm(self, policy: Policy, now: int) -> dict[str, str]:
        """Arm the triggers seen for the first time; returns every trigger's cursor."""
        store = self.client.store
        cursors = store.automation.cursors(policy.name, self.project)
        for trigger in policy.triggers:
            if trigger.kind == MANUAL or trigger.key in cursors:
                continue
            cursor = current_cursor(store, trigger, now, self.project)
            ctx = Context(self.client, policy, self.project, now)
            message = f"watching {trigger.key} from {cursor}"
            event = ctx.event("armed", message, trigger=trigger.key, cursor=cursor)
            if store.automation.arm(policy.name, trigger.key, cursor, event, self.project):
                cursors[trigger.key] = cursor
        return cursors

    def _fire(self, policy: Policy, now: int, cursors: dict[str, str]) -> None:
        store = self.client.store
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
            data = {
                "reason": fired.reason,
                "deployment": policy.deployment,
                "params": self._params(policy, resolve=True),
            }
            if policy.gate is not None:
                data["gate_data"] = _resolve(self.client, policy.gate.data, self.project)
            if policy.rebase is not None:
                data["reference"] = _resolve(self.client, policy.rebase.reference, self.project)
        new = NewJob(policy.name, fired.trigger, fired.dedupe, state, json.dumps(data), now)
        event = ctx.event(kind, message, trigger=fired.trigger, **fired.details)
        return self.client.store.automation.open_job(new, event, cursor, self.project)

    def _busy(self, policy: Policy, now: int) -> str | None:
        """Why a new run of ``policy`` must wait, or None."""
        last = self.client.store.automation.last_job(policy.name, project=self.project)
        if last is None:
            return None
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


def _stand_in(job: Job) -> Policy:
    """Enough of a policy no agent has any more to put its job's changes back: the job's
    deployment, and the model of its candidate."""
    data = json.loads(job.data)
    candidate = str(data.get("candidate", "models:/unknown/0"))
    model = candidate.removeprefix("models:/").rsplit("/", 1)[0]
    return Policy(job.policy, "unknown:unknown", model, str(data.get("deployment", "unknown")))


def _resolve(client: Client, value: str, project: str) -> str:
    """``NAME@latest`` as the version it is now (``NAME@N``); other text unchanged."""
    if not value.endswith(LATEST):
        return value
    data = DataClient(client)
    try:
        return data.version(value).ref
    finally:
        data.close()
