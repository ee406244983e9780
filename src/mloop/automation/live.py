"""What a candidate's live traffic shows: its logged rows and failed requests since a
stage began, the other models' in the same time, and its guards judged on them."""

from __future__ import annotations

import pandas as pd

from mloop.automation.context import Context
from mloop.automation.guards import PREDICTION, GuardCheck, Traffic, check_guards
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
    ctx: Context, mine: Traffic, theirs: Traffic, figures: dict[str, float] | None = None
) -> list[GuardCheck]:
    """The policy's guards, once the candidate was sent ``min_rows`` rows (a guard
    relative to the others uses ``figures``, the others' earlier values, when the others
    have no rows now)."""
    rollout = ctx.policy.rollout
    if mine.volume < rollout.min_rows:
        return []
    task = ctx.policy.gate.task if ctx.policy.gate else _task(theirs.rows, mine.rows)
    return check_guards(rollout.parsed_guards(), mine, theirs, task, figures or {})


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
