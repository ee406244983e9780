"""What a candidate's live traffic shows: its logged rows and failed requests since a
stage began, the other models' in the same time, and its guards judged on them."""

from __future__ import annotations

import pandas as pd

from mloop.automation.context import Context
from mloop.automation.guards import LATENCY, PREDICTION, GuardCheck, Traffic, check_guards
from mloop.serving.query import LABEL, predictions
from mloop.store import Failure

SHADOW_MODEL, SHADOW_PREDICTION = "shadow.model", "shadow.prediction"


def traffic(ctx: Context, candidate: str, since: int, kind: str) -> tuple[Traffic, Traffic]:
    """The candidate's traffic since ``since`` and the other models' (in shadow: the
    primary answers to the requests it scored)."""
    rows = predictions(ctx.policy.deployment, since, client=ctx.client, project=ctx.project)
    if kind != "shadow":
        failures = ctx.client.store.predictions.failures(
            deployment=ctx.policy.deployment, start=since, project=ctx.project
        )
        answered = rows["model"] == candidate
        mine = [f for f in failures if f.model == candidate]
        theirs = [f for f in failures if f.model != candidate]
        return _side(rows[answered], mine), _side(rows[~answered], theirs)
    if SHADOW_MODEL not in rows:
        return Traffic(rows.iloc[:0]), Traffic(rows)
    shadowed = rows[rows[SHADOW_MODEL] == candidate]
    scored = shadowed[shadowed[SHADOW_PREDICTION].notna()]
    mine_rows = pd.DataFrame(
        {
            "request_id": scored["request_id"].to_numpy(),
            PREDICTION: scored[SHADOW_PREDICTION].to_numpy(),
            LABEL: scored[LABEL].to_numpy(),
        }
    )
    unscored = shadowed[shadowed[SHADOW_PREDICTION].isna()]
    return Traffic(mine_rows, unscored["request_id"].nunique(), len(unscored)), Traffic(shadowed)


def checks(
    ctx: Context,
    mine: Traffic,
    theirs: Traffic,
    figures: dict[str, float] | None = None,
    *,
    shadow: bool = False,
) -> list[GuardCheck]:
    """The policy's guards, once the candidate was sent ``min_rows`` rows (a guard
    relative to the others uses ``figures``, the others' earlier values, when the others
    have no rows now). In shadow, latency guards wait for the canary: a shadow's
    answers are not timed on their own."""
    rollout = ctx.policy.rollout
    if mine.volume < rollout.min_rows:
        return []
    guards = [g for g in rollout.parsed_guards() if not (shadow and g.name in LATENCY)]
    task = ctx.policy.gate.task if ctx.policy.gate else _task(theirs.rows, mine.rows)
    return check_guards(guards, mine, theirs, task, figures or {})


def figures(ctx: Context, candidate: str) -> dict[str, float]:
    """What the other models showed on each guard over the last watch (at least ten
    minutes) before now: what a promoted candidate is compared with afterwards."""
    since = ctx.now - max(ctx.policy.rollout.watch_ms, 600_000)
    _, theirs = traffic(ctx, candidate, since, "canary")
    task = ctx.policy.gate.task if ctx.policy.gate else _task(theirs.rows, theirs.rows)
    found = check_guards(
        ctx.policy.rollout.parsed_guards(), theirs, Traffic(theirs.rows.iloc[:0]), task
    )
    return {c.guard: c.candidate for c in found if c.candidate is not None}


def _side(rows: pd.DataFrame, failures: list[Failure]) -> Traffic:
    return Traffic(rows, len(failures), sum(f.rows for f in failures))


def _task(rows: pd.DataFrame, fallback: pd.DataFrame) -> str:
    """A classifier's log has class probabilities or non-float predictions."""
    rows = rows if PREDICTION in rows and len(rows) else fallback
    if PREDICTION not in rows:
        return "regression"
    if any(str(c).startswith("output.proba.") for c in rows.columns):
        return "classification"
    numeric = pd.api.types.is_float_dtype(rows[PREDICTION])
    return "regression" if numeric else "classification"
