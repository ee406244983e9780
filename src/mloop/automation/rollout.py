"""Rolling a candidate out: direct, canary steps or shadow first, with its guards
watched on live traffic; a breach rolls the deployment (or the champion alias) back.

Every change is a new deployment revision or alias move, which running servers
follow without dropping a request. Each step checks what it finds before it acts, so
doing a step again (after an agent was stopped halfway) changes nothing twice.
"""

from __future__ import annotations

import json
from typing import Any

from mloop.automation import live
from mloop.automation.context import Context, Decision
from mloop.automation.guards import GuardCheck, Traffic
from mloop.errors import InvalidArgument
from mloop.monitoring import Monitors
from mloop.registry import Registry
from mloop.registry.client import CHAMPION
from mloop.serving.deployments import Deployments
from mloop.store import Job, JobState, NewAutomationEvent, Revision, Route


def start(ctx: Context, job: Job, data: dict[str, Any]) -> Decision | None:
    """Begin the rollout of a candidate that passed its gate (once no other rollout is
    under way on the same deployment)."""
    other = _other_rollout(ctx, job)
    if other is not None:
        return _wait(ctx, data, other)
    rollout = ctx.policy.rollout
    deployments = Deployments(ctx.client, ctx.project)
    current = deployments.get(ctx.policy.deployment).revision
    if "revision_before" not in data:  # kept from a first attempt that was interrupted
        data["revision_before"] = current.number
        data["champion"] = ctx.champion()
        ctx.save(data)
    if rollout.strategy == "direct":
        return promote(ctx, data, "direct rollout")
    if rollout.strategy == "canary":
        return _canary(ctx, data, 0)
    routes = [*current.primary, Route(data["candidate"], 0, shadow=True)]  # replaces a shadow
    if current.routes != tuple(routes):
        deployments.set(ctx.policy.deployment, routes, reason=_why(ctx, "shadow"))
    data["stage"] = {"kind": "shadow", "index": -1, "since": ctx.now}
    message = (
        f"{data['candidate']} scores {ctx.policy.deployment}'s traffic in shadow "
        f"for {rollout.watch}"
    )
    return Decision(JobState.ROLLING, data, [ctx.event("shadow", message)])


def _wait(ctx: Context, data: dict[str, Any], other: Job) -> Decision | None:
    """Wait, gated, for another job's rollout on the deployment; give up at the timeout."""
    if data.get("waiting_for") != other.id:
        data["waiting_for"] = other.id
        data.setdefault("waiting_since", ctx.now)
        ctx.save(data)
        ctx.note(
            "waiting",
            f"waits for job {other.id} ({other.policy}) to end its rollout on "
            f"{ctx.policy.deployment}",
        )
    waited = ctx.now - data["waiting_since"]
    if waited < ctx.policy.rollout.timeout_ms:
        return None
    reason = (
        f"waited {waited // 1000} s for job {other.id} ({other.policy}) to end its rollout "
        f"on {ctx.policy.deployment}: `mloop agent cancel {other.id}` ends that one"
    )
    return Decision(JobState.FAILED, data, [ctx.event("failed", reason)])


def watch(ctx: Context, data: dict[str, Any]) -> Decision | None:
    """Check the current stage's guards; roll back, go on, or wait."""
    rollout = ctx.policy.rollout
    stage = data["stage"]
    mine, theirs = live.traffic(ctx, data["candidate"], stage["since"], stage["kind"])
    checks = live.checks(ctx, mine, theirs, shadow=stage["kind"] == "shadow")
    breached = [c for c in checks if c.breached]
    if breached:
        return _roll_back(ctx, data, _describe(breached), stage)
    elapsed = ctx.now - stage["since"]
    scored = len(mine.rows)
    if elapsed < rollout.watch_ms or scored < rollout.min_rows or not _all_held(checks):
        if elapsed >= rollout.timeout_ms:
            return _roll_back(ctx, data, _shortfall(ctx, scored, checks), stage)
        return None
    figures = _describe(checks) or "no guards declared"
    data["figures"] = {c.guard: c.others for c in checks if c.others is not None}
    data.setdefault("passed_stages", []).append({**stage, "rows": scored})
    index = stage["index"] + 1
    held = f"{_stage_name(ctx, stage)} held on {scored} rows: {figures}"
    if index >= len(rollout.steps) or rollout.steps[index] == 100:
        return promote(ctx, data, held)
    return _canary(ctx, data, index, held)


def after(ctx: Context, data: dict[str, Any]) -> Decision | None:
    """Watch a promoted candidate for ``rollout.after``; a breach undoes the promotion."""
    if "undoing" in data:  # a rollback that was interrupted: finish it
        return _undo_promotion(ctx, data, data["undoing"])
    since = data["stage"]["since"]
    now_champion = ctx.champion()
    if now_champion != data["candidate"]:
        message = (
            f"stopped watching {data['candidate']}: {ctx.policy.model}@{CHAMPION} is now "
            f"{now_champion or 'unset'}, moved by someone else"
        )
        return Decision(JobState.PROMOTED, data, [ctx.event("done", message)])
    mine, _ = live.traffic(ctx, data["candidate"], since, "after")
    checks = live.checks(ctx, mine, Traffic(mine.rows.iloc[:0]), data.get("figures"))
    breached = [c for c in checks if c.breached]
    if breached:
        data["undoing"] = f"guard breached after promotion: {_describe(breached)}"
        ctx.save(data)
        return _undo_promotion(ctx, data, data["undoing"])
    if ctx.now - since < ctx.policy.rollout.after_ms:
        return None
    figures = _describe(checks) or f"fewer than {ctx.policy.rollout.min_rows} rows"
    message = (
        f"{data['candidate']} watched for {ctx.policy.rollout.after} after promotion: {figures}"
    )
    return Decision(JobState.PROMOTED, data, [ctx.event("done", message)])


def _undo_promotion(ctx: Context, data: dict[str, Any], why: str) -> Decision:
    undone = undo(ctx, data, why)
    message = f"rolled back {data['candidate']} after promotion: {why}; {undone}"
    return Decision(JobState.ROLLED_BACK, data, [ctx.event("rolled_back", message)])


def promote(ctx: Context, data: dict[str, Any], why: str) -> Decision:
    """Make the candidate the champion and have the deployment follow the champion."""
    name, deployment = ctx.policy.model, ctx.policy.deployment
    if ctx.champion() != data["candidate"]:
        Registry(ctx.client, ctx.project).promote(
            data["candidate"], reason=f"{ctx.policy.name}: {why}"
        )
    deployments = Deployments(ctx.client, ctx.project)
    current = deployments.get(deployment).revision
    follow = (Route(f"models:/{name}@{CHAMPION}", 100), *_shadows(current, data["candidate"]))
    if current.routes != follow:
        deployments.set(deployment, list(follow), reason=_why(ctx, "promotion"))
    if "figures" not in data and ctx.policy.rollout.after_ms > 0:  # no stage measured them
        data["figures"] = live.figures(ctx, data["candidate"])
    message = f"promoted {data['candidate']} to {name}@{CHAMPION} on {deployment}: {why}"
    events = [ctx.event("promoted", message, champion_before=data.get("champion"))]
    events += _rebase(ctx, data)
    if ctx.policy.rollout.after_ms > 0 and ctx.policy.rollout.guards:
        data["stage"] = {"kind": "after", "index": len(ctx.policy.rollout.steps), "since": ctx.now}
        return Decision(JobState.WATCHING, data, events)
    return Decision(JobState.PROMOTED, data, events)


NOTHING = "nothing to put back"


def undo(ctx: Context, data: dict[str, Any], why: str) -> str:
    """Put back what the job changed on live traffic, as found now: the deployment's
    routes (when every revision since the job's first is the policy's own), then the
    champion alias (when the job made the candidate champion). Says what it did."""
    done = []
    reason = _why(ctx, why)
    if "revision_before" in data:
        restored = _restore(ctx, data["revision_before"], reason)
        if restored is not None:
            done.append(f"{ctx.policy.deployment} back to the routes of revision {restored}")
    candidate, before = data.get("candidate"), data.get("champion")
    if candidate is not None and candidate != before and ctx.champion() == candidate:
        registry = Registry(ctx.client, ctx.project)
        if before is None:
            registry.remove_alias(ctx.policy.model, CHAMPION, reason=reason)
        else:
            registry.rollback(ctx.policy.model, to=_number(before), reason=reason)
        done.append(f"{ctx.policy.model}@{CHAMPION} back to {before or 'unset'}")
    return "; ".join(done) or NOTHING


def _canary(ctx: Context, data: dict[str, Any], index: int, why: str = "") -> Decision:
    rollout = ctx.policy.rollout
    percent = rollout.steps[index]
    if percent == 100:
        return promote(ctx, data, why or "canary at 100%")
    deployments = Deployments(ctx.client, ctx.project)
    before = deployments.revision(ctx.policy.deployment, data["revision_before"])
    routes = split(before, data["candidate"], percent)
    if deployments.get(ctx.policy.deployment).revision.routes != tuple(routes):
        deployments.set(ctx.policy.deployment, routes, reason=_why(ctx, f"canary {percent}%"))
    data["stage"] = {"kind": "canary", "index": index, "since": ctx.now}
    message = (
        f"canary: {percent}% of {ctx.policy.deployment}'s traffic to {data['candidate']} "
        f"for {rollout.watch}" + (f" ({why})" if why else "")
    )
    return Decision(JobState.ROLLING, data, [ctx.event("canary", message, percent=percent)])


def split(before: Revision, candidate: str, percent: int) -> list[Route]:
    """``before``'s answering routes scaled down to ``100 - percent`` in all (largest
    remainders round up), the candidate at ``percent``, and ``before``'s shadow."""
    primary = [r for r in before.primary if r.model != candidate]
    total = sum(r.weight for r in primary)
    if not primary or total <= 0:
        raise InvalidArgument(f"revision {before.number} has no answering route to share")
    share = 100 - percent
    exact = [r.weight * share / total for r in primary]
    weights = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: exact[i] - weights[i], reverse=True)
    for i in order[: share - sum(weights)]:
        weights[i] += 1
    kept = [Route(r.model, w) for r, w in zip(primary, weights, strict=True) if w > 0]
    return [*kept, Route(candidate, percent), *_shadows(before, candidate)]


def _roll_back(ctx: Context, data: dict[str, Any], why: str, stage: dict[str, Any]) -> Decision:
    during = _stage_name(ctx, stage)
    undone = undo(ctx, data, f"{data['candidate']} failed during {during}: {why}")
    message = f"rolled back {data['candidate']} during {during}: {why}; {undone}"
    return Decision(JobState.ROLLED_BACK, data, [ctx.event("rolled_back", message)])


def _restore(ctx: Context, number: int, reason: str) -> int | None:
    """Give the deployment the routes of revision ``number`` again, unless it has them or
    someone else changed the routes since (then theirs stand)."""
    deployments = Deployments(ctx.client, ctx.project)
    history = deployments.history(ctx.policy.deployment)
    target = next(r for r in history if r.number == number)
    if history[-1].routes == target.routes:
        return None
    ours = f"automation policy {ctx.policy.name}:"
    if any(not r.reason.startswith(ours) for r in history if r.number > number):
        return None
    deployments.rollback(ctx.policy.deployment, to=number, reason=reason)
    return number


def _rebase(ctx: Context, data: dict[str, Any]) -> list[NewAutomationEvent]:
    """Move the policy's monitors to the new champion's training data."""
    if ctx.policy.rebase is None:
        return []
    reference = data["reference"]
    monitors = Monitors(ctx.client, ctx.project)
    for name in ctx.policy.rebase.monitors:
        monitors.rebase(name, reference)
    names = ", ".join(ctx.policy.rebase.monitors)
    message = f"{names} now compare the traffic with {reference} and {data['candidate']}"
    return [ctx.event("rebased", message, reference=reference)]


def _other_rollout(ctx: Context, job: Job) -> Job | None:
    """Another job rolling out (or watching) on this deployment."""
    for other in ctx.client.store.automation.jobs(active=True, project=ctx.project):
        if other.id == job.id or other.state not in (JobState.ROLLING, JobState.WATCHING):
            continue
        if live_deployment(other) == ctx.policy.deployment:
            return other
    return None


def live_deployment(job: Job) -> str | None:
    deployment = json.loads(job.data).get("deployment")
    return str(deployment) if deployment is not None else None


def _shadows(revision: Revision, candidate: str) -> tuple[Route, ...]:
    return tuple(r for r in revision.shadows if r.model != candidate)


def _all_held(checks: list[GuardCheck]) -> bool:
    return all(c.held for c in checks)


def _shortfall(ctx: Context, scored: int, checks: list[GuardCheck]) -> str:
    rollout = ctx.policy.rollout
    waited = f"after {rollout.timeout_ms // 1000} s"
    if scored < rollout.min_rows:
        return f"{waited}, {scored} rows scored of the {rollout.min_rows} needed"
    unmeasured = [c.guard for c in checks if c.held is None]
    return f"{waited}, guards still not measurable: {', '.join(unmeasured)}"


def _describe(checks: list[GuardCheck]) -> str:
    return "; ".join(c.describe() for c in checks)


def _number(uri: str) -> int:
    return int(uri.rsplit("/", 1)[1])


def _stage_name(ctx: Context, stage: dict[str, Any]) -> str:
    if stage["kind"] == "canary":
        return f"the {ctx.policy.rollout.steps[stage['index']]}% canary"
    return str(stage["kind"])


def _why(ctx: Context, what: str) -> str:
    return f"automation policy {ctx.policy.name}: {what}"
