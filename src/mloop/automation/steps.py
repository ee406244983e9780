"""Moving one job on: the step for its state, and what happens when a step fails.

A step that raises ends the job as ``failed``, after putting back what the job had
changed on live traffic (a canary's routes, a promotion); a store that is away for a
moment leaves the job as it is, to be tried at the next tick.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from mloop.automation import rollout, train
from mloop.automation.context import Context, Decision, job_data
from mloop.automation.policy import Policy
from mloop.errors import BackendUnavailable, Conflict, MloopError
from mloop.store import Job, JobState
from mloop.store.entities import now_ms
from mloop.tracking.client import Client

logger = logging.getLogger("mloop.automation")

Step = Callable[[Context, Job, dict[str, Any]], Decision | None]
STEPS: dict[JobState, Step] = {
    JobState.QUEUED: train.train,
    JobState.TRAINED: lambda ctx, job, data: train.gate(ctx, data),
    JobState.GATED: rollout.start,
    JobState.ROLLING: lambda ctx, job, data: rollout.watch(ctx, data),
    JobState.WATCHING: lambda ctx, job, data: rollout.after(ctx, data),
}


def advance(
    client: Client,
    policy: Policy,
    project: str,
    job: Job,
    held: Callable[[], bool] = lambda: True,
) -> None:
    """Move ``job`` on while its steps decide something now; each decision is written
    only while ``held`` says this agent still holds the policy."""
    store = client.store.automation
    while job.state.active:
        ctx = Context(client, policy, project, now_ms(), job)
        data = job_data(job)
        try:
            decision = STEPS[job.state](ctx, job, data)
        except BackendUnavailable as exc:  # the store or a server is away: next tick
            logger.warning("mloop agent: job %d of %s waits: %s", job.id, policy.name, exc)
            return
        except Conflict as exc:  # something moved meanwhile: look again at the next tick
            logger.info("mloop agent: job %d of %s: %s", job.id, policy.name, exc)
            return
        except Exception as exc:  # user code (pipelines, models) must not stop the agent
            logger.exception("mloop agent: job %d of %s failed", job.id, policy.name)
            reason = f"the {job.state.value} step failed: {_reason(exc)}"
            decision = fail(ctx, job, reason, data)  # data: what the step had set
        if decision is None or not held():
            return
        try:
            job = store.advance(
                job.id, job.state, decision.state, json.dumps(decision.data), decision.events
            )
        except Conflict:  # another agent moved it meanwhile
            return


def fail(
    ctx: Context, job: Job, reason: str, data: dict[str, Any] | None = None
) -> Decision | None:
    """End ``job`` as failed, with what it changed on live traffic put back first;
    None when the store is away (tried again at the next tick)."""
    data = job_data(job) if data is None else data
    try:
        undone = rollout.undo(ctx, data, reason)
    except BackendUnavailable as exc:
        logger.error("mloop agent: job %d: cannot put its changes back yet: %s", job.id, exc)
        return None
    except MloopError as exc:
        undone = f"could not put everything back: {exc}"
    message = reason if undone == rollout.NOTHING else f"{reason}; {undone}"
    return Decision(JobState.FAILED, data, [ctx.event("failed", message)])


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, MloopError) else f"{type(exc).__name__}: {exc}"
