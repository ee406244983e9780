"""The record of one evaluation: every measure of both models, and the gates' verdict.

:class:`EvaluationResult` is what :func:`mloop.evaluation.evaluate_predictors`
returns and what is stored with an Evaluation: :meth:`~EvaluationResult.to_dict`
gives strict JSON (an undefined metric is null, never NaN) and
:meth:`~EvaluationResult.from_dict` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mloop.errors import InvalidArgument
from mloop.evaluation.fairness import FairnessResult
from mloop.evaluation.gates import GateCheck, Gates
from mloop.evaluation.importance import Contributions, Importance
from mloop.evaluation.metrics import MAIN_METRIC, Metrics
from mloop.evaluation.predictor import TASKS, Task, json_label
from mloop.evaluation.slices import SliceResult

FORMAT = "mloop.evaluation/1"


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """A candidate model, and optionally a baseline, measured on the same ``rows`` rows.

    ``classes`` are the candidate's classes (None for regression). ``slices``
    and ``fairness`` hold both models' measures per slice and per sensitive
    column; ``importance`` and ``contributions`` explain the candidate (None when
    not computed or not available); ``checks`` judge the ``gates``.
    """

    task: Task
    target: str
    rows: int
    candidate: Metrics
    baseline: Metrics | None = None
    classes: tuple[Any, ...] | None = None
    slices: tuple[SliceResult, ...] = ()
    fairness: tuple[FairnessResult, ...] = ()
    importance: Importance | None = None
    contributions: Contributions | None = None
    gates: Gates = field(default_factory=Gates)
    checks: tuple[GateCheck, ...] = ()

    @property
    def passed(self) -> bool:
        """True when every gate passed (so also when there are no gates)."""
        return all(check.passed for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        """Why the evaluation failed: the reason of every failed check, in gate order."""
        return [check.reason for check in self.checks if not check.passed]

    def summary(self) -> str:
        """One line: the verdict, the main metric of both models, and the first failure."""
        metric = MAIN_METRIC[self.task]
        score = _show(self.candidate.values.get(metric))
        against = "" if self.baseline is None else f" (baseline {_show(self.baseline[metric])})"
        measured = f"{metric} {score}{against} on {self.rows:,} rows"
        total, failed = len(self.checks), len(self.reasons)
        if not total:
            return f"passed (no gates): {measured}"
        if not failed:
            return f"passed: {measured}; {total} of {total} checks passed"
        more = f" (and {failed - 1} more)" if failed > 1 else ""
        return f"failed: {measured}; {failed} of {total} checks failed: {self.reasons[0]}{more}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` reads it back."""
        return {
            "format": FORMAT,
            "task": self.task,
            "target": self.target,
            "rows": self.rows,
            "classes": None if self.classes is None else [json_label(c) for c in self.classes],
            "passed": self.passed,
            "reasons": self.reasons,
            "candidate": self.candidate.to_dict(),
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "slices": [result.to_dict() for result in self.slices],
            "fairness": [result.to_dict() for result in self.fairness],
            "importance": None if self.importance is None else self.importance.to_dict(),
            "contributions": None if self.contributions is None else self.contributions.to_dict(),
            "gates": self.gates.to_dict()["gates"],
            "checks": [check.to_dict() for check in self.checks],
        }

    @classmethod
    def from_dict(cls, data: Any) -> EvaluationResult:
        """Read :meth:`to_dict` output back; InvalidArgument says what is wrong with it."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidArgument(f'not an mloop evaluation: no "format": "{FORMAT}" field')
        if data.get("task") not in TASKS:
            raise InvalidArgument(
                f"evaluation task must be one of {TASKS}, got {data.get('task')!r}"
            )
        try:
            return cls._read(data)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InvalidArgument(
                f"not a valid mloop evaluation: {type(error).__name__} {error}"
            ) from None

    @classmethod
    def _read(cls, data: dict[str, Any]) -> EvaluationResult:
        def optional(key: str, read: Any) -> Any:
            return None if data[key] is None else read(data[key])

        return cls(
            task=data["task"],
            target=str(data["target"]),
            rows=int(data["rows"]),
            candidate=Metrics.from_dict(data["candidate"]),
            baseline=optional("baseline", Metrics.from_dict),
            classes=optional("classes", tuple),
            slices=tuple(SliceResult.from_dict(item) for item in data["slices"]),
            fairness=tuple(FairnessResult.from_dict(item) for item in data["fairness"]),
            importance=optional("importance", Importance.from_dict),
            contributions=optional("contributions", Contributions.from_dict),
            gates=Gates.parse(data["gates"]),
            checks=tuple(GateCheck.from_dict(item) for item in data["checks"]),
        )


def _show(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4g}"
