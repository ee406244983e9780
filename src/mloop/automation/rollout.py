"""Rolling a candidate out: direct, canary steps or shadow first, with its guards
watched on live traffic; a breach rolls the deployment (or the champion alias) back.

Every change is a new deployment revision or alias move, which running servers
follow without dropping a request.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mloop.automation.context import Context, Decision
from mloop.automation.guards import PREDICTION, GuardCheck, Traffic, check_guards
from mloop.monitoring import Monitors
from mloop.registry import Registry
from mloop.registry.client import CHAMPION
from mloop.serving.deployments import Deployments
from mloop.serving.query import LABEL, predictions
from mloop.store import Failure, JobState, NewAutomationEvent, Route

SHADOW_MODEL, SHADOW_PREDICTION = "shadow.model", "shadow.prediction"


def start(ctx: Context, data: dict[str, Any]) -> Decision:
    """Begin the rollout of a candidate that passed its gate."""
    rollout = ctx.policy.rollout
    deployments = Deployments(ctx.client, ctx.project)
    current = deployments.get(ctx.policy.deployment).revision
    data["revision_before"] = current.number
    if rollout.strategy == "direct" or data.get("champion") is None:
        why = "direct rollout" if rollout.strategy == "direct" else "no champion to compare with"
        return promote(ctx, data, why)
    if rollout.strategy == "shadow":
        routes = [*current.primary, Route(data["candidate"], 0, shadow=True)]
        deployments.set(ctx.policy.deployment, routes, reason=_why(ctx, "shadow"))
        data["stage"] = {"kind": "shadow", "index": -1, "since": ctx.now}
        message = (
            f"{data['candidate']} scores {ctx.policy.deployment}'s traffic in shadow "
            f"for {rollout.watch}"
        )
        return Decision(JobState.ROLLING, data, [ctx.event("shadow", message)])
    return _canary(ctx, data, 0)


def watch(ctx: Context, data: dict[str, Any]) -> Decision | None:
    """Check the current stage's guards; roll back, go on, or wait."""
    rollout = ctx.policy.rollout
    stage = data["stage"]
    candidate, others = _traffic(ctx, data["candidate"], stage["since"], stage["kind"])
    checks = _checks(ctx, candidate, others)
    breached = [c for c in checks if c.breached]
    if breached:
        return _roll_back(ctx, data, breached, stage)
    if ctx.now - stage["since"] < rollout.watch_ms or candidate.volume < rollout.min_rows:
        return None
    figures = "; ".join(c.describe() for c in checks) or "no guards declared"
    data.setdefault("passed_stages", []).append({**stage, "rows": candidate.volume})
    index = stage["index"] + 1
    if index >= len(rollout.steps) or rollout.steps[index] == 100:
        return promote(
            ctx, data, f"{_stage_name(ctx, stage)} held on {candidate.volume} rows: {figures}"
        )
    return _canary(ctx, data, index, f"{_stage_name(ctx, stage)} held: {figures}")


def after(ctx: Context, data: dict[str, Any]) -> Decision | None:
    """Watch a promoted candidate for ``rollout.after``; a breach moves the champion back."""
    since = data["stage"]["since"]
    mine, _ = _traffic(ctx, data["candidate"], since, "after")
    checks = _checks(ctx, mine, Traffic(mine.rows.iloc[:0]))
    breached = [c for c in checks if c.breached]
    if breached:
        why = "; ".join(c.describe() for c in breached)
        Registry(ctx.client, ctx.project).rollback(
            ctx.policy.model, reason=f"{ctx.policy.name}: guard breached after promotion: {why}"
        )
        message = f"rolled back {data['candidate']} after promotion: {why}"
        return Decision(JobState.ROLLED_BACK, data, [ctx.event("rolled_back", message)])
    if ctx.now - since < ctx.policy.rollout.after_ms:
        return None
    message = f"{data['candidate']} held its guards for {ctx.policy.rollout.after} after promotion"
    return Decision(JobState.PROMOTED, data, [ctx.event("done", message)])


def promote(ctx: Context, data: dict[str, Any], why: str) -> Decision:
    """Make the candidate the champion and have the deployment follow the champion."""
    name, deployment = ctx.policy.model, ctx.policy.deployment
    Registry(ctx.client, ctx.project).promote(data["candidate"], reason=f"{ctx.policy.name}: {why}")
    deployments = Deployments(ctx.client, ctx.project)
    follow = (Route(f"models:/{name}@{CHAMPION}", 100),)
    if deployments.get(deployment).revision.routes != follow:
        deployments.set(deployment, list(follow), reason=_why(ctx, "promotion"))
    message = f"promoted {data['candidate']} to {name}@{CHAMPION} on {deployment}: {why}"
    events = [ctx.event("promoted", message, champion_before=data.get("champion"))]
    events += _rebase(ctx, data)
    guards = ctx.policy.rollout.guards
    if ctx.policy.rollout.after_ms > 0 and guards:
        data["stage"] = {"kind": "after", "index": len(ctx.policy.rollout.steps), "since": ctx.now}
        return Decision(JobState.WATCHING, data, events)
    return Decision(JobState.PROMOTED, data, events)


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


def _canary(ctx: Context, data: dict[str, Any], index: int, why: str = "") -> Decision:
    rollout = ctx.policy.rollout
    percent = rollout.steps[index]
    if percent == 100:
        return promote(ctx, data, why or "canary at 100%")
    deployments = Deployments(ctx.client, ctx.project)
    before = deployments.store.deployments.revision(
        ctx.policy.deployment, data["revision_before"], ctx.project
    )
    base = before.primary[0].model
    routes = [Route(base, 100 - percent), Route(data["candidate"], percent)]
    deployments.set(ctx.policy.deployment, routes, reason=_why(ctx, f"canary {percent}%"))
    data["stage"] = {"kind": "canary", "index": index, "since": ctx.now}
    message = (
        f"canary: {percent}% of {ctx.policy.deployment}'s traffic to {data['candidate']} "
        f"for {rollout.watch}" + (f" ({why})" if why else "")
    )
    return Decision(JobState.ROLLING, data, [ctx.event("canary", message, percent=percent)])


def _roll_back(
    ctx: Context, data: dict[str, Any], breached: list[GuardCheck], stage: dict[str, Any]
) -> Decision:
    why = "; ".join(c.describe() for c in breached)
    deployments = Deployments(ctx.client, ctx.project)
    before = deployments.store.deployments.revision(
        ctx.policy.deployment, data["revision_before"], ctx.project
    )
    if deployments.get(ctx.policy.deployment).revision.routes != before.routes:
        deployments.rollback(
            ctx.policy.deployment,
            to=before.number,
            reason=f"{ctx.policy.name}: guard breached during {_stage_name(ctx, stage)}: {why}",
        )
    message = (
        f"rolled back {ctx.policy.deployment} to revision {before.number}: "
        f"{data['candidate']} breached a guard during {_stage_name(ctx, stage)}: {why}"
    )
    return Decision(JobState.ROLLED_BACK, data, [ctx.event("rolled_back", message)])


def _traffic(ctx: Context, candidate: str, since: int, kind: str) -> tuple[Traffic, Traffic]:
    """The candidate's logged rows and failures since ``since``, and the other models'."""
    rows = predictions(ctx.policy.deployment, since, client=ctx.client, project=ctx.project)
    if kind != "shadow":
        failures = ctx.client.store.predictions.failures(
            deployment=ctx.policy.deployment, start=since, project=ctx.project
        )
        answered = rows["model"] == candidate
        return _side(rows[answered], [f for f in failures if f.model == candidate]), _side(
            rows[~answered], [f for f in failures if f.model != candidate]
        )
    if SHADOW_MODEL not in rows:
        return Traffic(rows.iloc[:0]), Traffic(rows)
    shadowed = rows[rows[SHADOW_MODEL] == candidate]
    scored = shadowed[shadowed[SHADOW_PREDICTION].notna()]
    mine = pd.DataFrame(
        {
            "request_id": scored["request_id"].to_numpy(),
            PREDICTION: scored[SHADOW_PREDICTION].to_numpy(),
            LABEL: scored[LABEL].to_numpy(),
        }
    )
    unscored = shadowed[shadowed[SHADOW_PREDICTION].isna()]
    return Traffic(mine, unscored["request_id"].nunique(), len(unscored)), Traffic(shadowed)


def _side(rows: pd.DataFrame, failures: list[Failure]) -> Traffic:
    return Traffic(rows, len(failures), sum(f.rows for f in failures))


def _checks(ctx: Context, candidate: Traffic, others: Traffic) -> list[GuardCheck]:
    rollout = ctx.policy.rollout
    if candidate.volume < rollout.min_rows:
        return []
    task = ctx.policy.gate.task if ctx.policy.gate else _task(others.rows, candidate.rows)
    return check_guards(rollout.parsed_guards(), candidate, others, task)


def _task(rows: pd.DataFrame, fallback: pd.DataFrame) -> str:
    """A classifier's log has class probabilities or non-float predictions."""
    rows = rows if PREDICTION in rows and len(rows) else fallback
    if PREDICTION not in rows:
        return "regression"
    if any(str(c).startswith("output.proba.") for c in rows.columns):
        return "classification"
    numeric = pd.api.types.is_float_dtype(rows[PREDICTION])
    return "regression" if numeric else "classification"


def _stage_name(ctx: Context, stage: dict[str, Any]) -> str:
    if stage["kind"] == "canary":
        return f"the {ctx.policy.rollout.steps[stage['index']]}% canary"
    return str(stage["kind"])


def _why(ctx: Context, what: str) -> str:
    return f"automation policy {ctx.policy.name}: {what}"
