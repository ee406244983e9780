"""Guards: what a candidate's live traffic must show while it is rolled out.

A guard is written like a gate, ``NAME OP BOUND``, and is checked on the prediction
log of the deployment since the stage began, the candidate's rows against the rows
the other models answered in the same time (or, in shadow, on the same requests):

- ``error_rate<=0.01``: the share of the candidate's requests it could not score
  (the server records those next to the prediction log);
- ``latency_p95_ms<=50``, ``latency_p50_ms<=+2``: the candidate's scoring latency;
- ``prediction_drift<=0.2``: how far the candidate's predictions are from the
  others' (Kolmogorov-Smirnov statistic for numbers, Jensen-Shannon distance for
  classes), 0 to 1;
- ``mae<=+5``, ``accuracy>=-0.02``, ``rmse<=10%``: live performance on rows whose
  label came back (any metric of ``mloop models evaluate``'s regression and
  classification lists that is computed from predicted labels).

An unsigned bound is absolute; a signed one bounds the candidate minus the others;
``N%`` bounds that change relative to the others' value. A guard whose value cannot
be computed yet (no labels, no other rows) holds: it is checked again later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from mloop.errors import InvalidArgument
from mloop.evaluation.metrics import (
    DIRECTION,
    PROBA_METRICS,
)
from mloop.monitoring.baseline import logged_metric
from mloop.monitoring.stattests import jensen_shannon, ks
from mloop.serving.query import LABEL

LATENCY = {"latency_p50_ms": 50.0, "latency_p95_ms": 95.0}
PREDICTION_DRIFT = "prediction_drift"
ERROR_RATE = "error_rate"
LIVE_METRICS = tuple(m for m in DIRECTION if m not in PROBA_METRICS)
GUARD_NAMES = (ERROR_RATE, *LATENCY, PREDICTION_DRIFT, *LIVE_METRICS)
_GUARD = re.compile(
    r"\s*(?P<name>[a-z0-9_]+)\s*(?P<op><=|>=)\s*(?P<sign>[+-])?"
    r"(?P<number>\d+\.?\d*|\.\d+)(?P<percent>%)?\s*"
)
PREDICTION = "output.prediction"


@dataclass(frozen=True, slots=True)
class Guard:
    name: str
    op: Literal["<=", ">="]
    value: float
    mode: Literal["value", "change", "percent"]
    text: str

    def holds(self, candidate: float, others: float | None) -> bool | None:
        """Whether the bound holds; None when it needs the others' value and has none."""
        if self.mode == "value":
            observed = candidate
        elif others is None:
            return None
        elif self.mode == "change":
            observed = candidate - others
        elif others == 0:
            return None
        else:
            observed = (candidate - others) / abs(others) * 100
        return observed <= self.value + 1e-12 if self.op == "<=" else observed >= self.value - 1e-12


@dataclass(frozen=True, slots=True)
class GuardCheck:
    guard: str
    candidate: float | None
    others: float | None
    held: bool | None

    @property
    def breached(self) -> bool:
        return self.held is False

    def describe(self) -> str:
        shown = "n/a" if self.candidate is None else f"{self.candidate:.4g}"
        against = "" if self.others is None else f" (others {self.others:.4g})"
        verdict = {True: "held", False: "BREACHED", None: "not measurable yet"}[self.held]
        return f"{self.guard}: {shown}{against}, {verdict}"


def parse_guard(text: str) -> Guard:
    found = _GUARD.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise InvalidArgument(
            f"guard {text!r} is not NAME<=BOUND or NAME>=BOUND (e.g. latency_p95_ms<=50, "
            "mae<=+5, accuracy>=-0.02)"
        )
    name = found["name"]
    if name not in GUARD_NAMES:
        raise InvalidArgument(f"guard {text!r}: unknown name {name!r}; use one of {GUARD_NAMES}")
    value = float(found["number"]) * (-1 if found["sign"] == "-" else 1)
    mode: Literal["value", "change", "percent"] = (
        "percent" if found["percent"] else "change" if found["sign"] else "value"
    )
    if mode == "value" and name in (PREDICTION_DRIFT, ERROR_RATE) and not 0 <= value <= 1:
        raise InvalidArgument(f"guard {text!r}: {name} is between 0 and 1")
    op: Literal["<=", ">="] = "<=" if found["op"] == "<=" else ">="
    return Guard(name, op, value, mode, text.strip())


@dataclass(frozen=True, slots=True)
class Traffic:
    """One side's logged rows, and how many of its requests failed."""

    rows: pd.DataFrame
    failed: int = 0
    """Requests that failed."""
    failed_rows: int = 0

    @property
    def volume(self) -> int:
        """Rows it was sent: answered and failed."""
        return len(self.rows) + self.failed_rows

    @property
    def error_rate(self) -> float | None:
        answered = self.rows["request_id"].nunique() if len(self.rows) else 0
        total = answered + self.failed
        return self.failed / total if total else None


def check_guards(
    guards: list[Guard],
    candidate: Traffic,
    others: Traffic,
    task: str,
    figures: dict[str, float] | None = None,
) -> list[GuardCheck]:
    """Each guard on the candidate's traffic against the others'; where the others have
    no value, ``figures`` (by guard text) stands in for it."""
    return [_check(g, candidate, others, task, figures or {}) for g in guards]


def _check(
    guard: Guard, mine: Traffic, theirs: Traffic, task: str, figures: dict[str, float]
) -> GuardCheck:
    if guard.name == ERROR_RATE:
        measured = mine.error_rate, theirs.error_rate
    else:
        measured = _measure(guard, mine.rows, theirs.rows, task)
    others = measured[1] if measured[1] is not None else figures.get(guard.text)
    return _verdict(guard, measured[0], others)


def _verdict(guard: Guard, mine: float | None, theirs: float | None) -> GuardCheck:
    if mine is None:
        return GuardCheck(guard.text, None, theirs, None)
    return GuardCheck(guard.text, mine, theirs, guard.holds(mine, theirs))


def _measure(
    guard: Guard, candidate: pd.DataFrame, others: pd.DataFrame, task: str
) -> tuple[float | None, float | None]:
    if guard.name in LATENCY:
        q = LATENCY[guard.name]
        mine, theirs = _quantile(candidate, q), _quantile(others, q)
    elif guard.name == PREDICTION_DRIFT:
        mine, theirs = _prediction_drift(candidate, others), 0.0
    else:
        mine, theirs = _live(guard.name, candidate, task), _live(guard.name, others, task)
    return mine, theirs


def _quantile(rows: pd.DataFrame, q: float) -> float | None:
    if "latency_ms" not in rows:  # shadow answers have no latency of their own
        return None
    values = rows["latency_ms"].dropna().to_numpy(dtype=float)
    return float(np.percentile(values, q)) if len(values) else None


def _prediction_drift(candidate: pd.DataFrame, others: pd.DataFrame) -> float | None:
    if not len(candidate) or not len(others):
        return None
    mine, theirs = candidate[PREDICTION], others[PREDICTION]
    if pd.api.types.is_numeric_dtype(mine) and pd.api.types.is_numeric_dtype(theirs):
        return ks(theirs.to_numpy(dtype=float), mine.to_numpy(dtype=float))[0]
    keys = sorted(set(map(str, mine)) | set(map(str, theirs)))
    counts = [np.array([s.astype(str).eq(k).sum() for k in keys], float) for s in (theirs, mine)]
    return jensen_shannon(counts[0], counts[1])


def _live(metric: str, rows: pd.DataFrame, task: str) -> float | None:
    if LABEL not in rows or not len(rows):
        return None
    return logged_metric(metric, task, rows[LABEL].to_numpy(), rows[PREDICTION].to_numpy())
