"""Gates: the conditions a candidate model must meet, and the checks that judge them.

A gate is written ``NAME[OF] OP BOUND`` (spaces allowed, ``[OF]`` optional):

- ``accuracy>=0.8``: an absolute bound on the candidate's metric (an unsigned number);
- ``roc_auc>=+0.01``: a signed number bounds the change from the baseline,
  candidate minus baseline (``rmse<=-0.5``: rmse must drop by 0.5 or more;
  ``roc_auc>=-0.005``: it may lose at most 0.005);
- ``roc_auc>=+1%``: a signed percentage bounds the change relative to the
  baseline's value;
- ``slice_regression<=0.05``: in no gated slice may the candidate be worse than
  the baseline by more than 0.05 of the task's main metric (accuracy,
  rmse); ``slice_regression[f1]<=0.02`` names the metric and
  ``slice_regression<=5%`` bounds the loss relative to the baseline's value;
- ``demographic_parity_difference<=0.1`` and ``equalized_odds_difference<=0.1``
  bound the candidate's fairness differences on every sensitive column,
  ``demographic_parity_difference[SEX]<=0.1`` on one.

``OP`` is ``>=`` or ``<=``; slice and fairness gates take ``<=`` only. A bound
that equals the observed value passes. A gate that compares with the baseline
fails, saying so, when there is no baseline. A metric that cannot be computed
(``roc_auc`` of a model without probabilities) fails its gate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mloop.errors import InvalidArgument
from mloop.evaluation.fairness import FAIRNESS_METRICS, FairnessResult
from mloop.evaluation.metrics import DIRECTION, MAIN_METRIC, METRICS, Metrics
from mloop.evaluation.predictor import Task
from mloop.evaluation.slices import SliceResult

SLICE_REGRESSION = "slice_regression"
GATE_NAMES = (*DIRECTION, SLICE_REGRESSION, *FAIRNESS_METRICS)
"""Every name a gate can bound."""
Op = Literal[">=", "<="]
Mode = Literal["value", "change", "percent"]
_TOLERANCE = 1e-12
_OPERATOR = re.compile(r"<=|>=|=>|=<|==|!=|<|>|=")
_NUMBER = re.compile(r"(?P<sign>[+-])?(?P<digits>(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)(?P<percent>%)?")
_LEFT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(\[(?P<of>[^\]]+)\])?")


@dataclass(frozen=True, slots=True)
class Gate:
    """One condition. ``mode`` says what ``value`` bounds: the candidate's metric
    (``value``), the change from the baseline (``change``), or that change in
    percent of the baseline's value (``percent``). ``of`` names the metric of a
    slice-regression gate or the column of a fairness gate."""

    metric: str
    op: Op
    value: float
    mode: Mode = "value"
    of: str | None = None

    def __post_init__(self) -> None:
        problem = _problem(self.metric, self.op, self.value, self.mode, self.of)
        if problem is not None:
            raise InvalidArgument(f"gate {self.text!r}: {problem}")

    @property
    def text(self) -> str:
        """The gate in the syntax :meth:`parse` reads."""
        of = "" if self.of is None else f"[{self.of}]"
        return f"{self.metric}{of}{self.op}{self.bound}"

    @property
    def bound(self) -> str:
        """The bound as written: ``0.8``, ``+0.01``, ``-1%``, ``5%``."""
        signed = self.mode == "change" or (self.mode == "percent" and self.metric in DIRECTION)
        sign = "+" if signed and self.value >= 0 else ""
        return f"{sign}{_number(self.value)}{'%' if self.mode == 'percent' else ''}"

    @property
    def needs_baseline(self) -> bool:
        """True for gates that compare the candidate with the baseline."""
        return self.metric == SLICE_REGRESSION or self.mode != "value"

    @classmethod
    def parse(cls, text: str) -> Gate:
        """Read one gate, such as ``accuracy>=0.8`` or ``roc_auc>=+1%``."""
        if not isinstance(text, str):
            raise InvalidArgument(f"a gate must be text such as 'accuracy>=0.8', got {text!r}")
        found = _OPERATOR.search(text)
        if found is None:
            raise InvalidArgument(
                f"gate {text!r} has no operator: write NAME>=BOUND or NAME<=BOUND"
            )
        if found.group() not in (">=", "<="):
            raise InvalidArgument(
                f"gate {text!r}: operator {found.group()!r} is not supported; use >= or <="
            )
        left, right = text[: found.start()].strip(), text[found.end() :].strip()
        name = _LEFT.fullmatch(left)
        if name is None:
            raise InvalidArgument(
                f"gate {text!r}: {left!r} is not a metric name (with an optional [column] "
                "or [metric])"
            )
        bound = _NUMBER.fullmatch(right)
        if bound is None:
            raise InvalidArgument(
                f"gate {text!r}: {right!r} is not a bound; write 0.8, +0.01, -0.01, +1% or 5%"
            )
        return cls._from_parts(text, name, bound, found.group())

    @classmethod
    def _from_parts(cls, text: str, name: re.Match[str], bound: re.Match[str], op: str) -> Gate:
        metric = name.group("name")
        signed, percent = bound.group("sign") is not None, bound.group("percent") is not None
        value = float(bound.group("digits")) * (-1 if bound.group("sign") == "-" else 1)
        if metric == SLICE_REGRESSION and signed:
            raise InvalidArgument(
                f"gate {text!r}: slice_regression bounds a loss: write an unsigned number "
                "(0.05) or percentage (5%)"
            )
        if percent and not signed and metric in DIRECTION:
            raise InvalidArgument(
                f"gate {text!r}: a percentage needs a sign: +1% means at least 1% better than "
                "the baseline; an absolute bound is a plain number (0.8)"
            )
        mode: Mode = "percent" if percent else ("change" if signed else "value")
        of = None if name.group("of") is None else name.group("of").strip()
        problem = _problem(metric, op, value, mode, of)
        if problem is not None:
            raise InvalidArgument(f"gate {text!r}: {problem}")
        return cls(metric, ">=" if op == ">=" else "<=", value, mode, of)


def _problem(metric: str, op: str, value: float, mode: str, of: str | None) -> str | None:
    """What is wrong with a gate of these parts, or None."""
    special = metric == SLICE_REGRESSION or metric in FAIRNESS_METRICS
    allowed = ("value",) if metric in FAIRNESS_METRICS else ("value", "percent")
    if metric not in GATE_NAMES:
        return f"unknown metric {metric!r}; known: {', '.join(GATE_NAMES)}"
    if op not in (">=", "<="):
        return f"operator {op!r} is not supported; use >= or <="
    if special and op != "<=":
        return f"{metric} takes an upper bound: use <="
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"the bound must be a finite number, got {value!r}"
    if of is not None and not special:
        return "only slice_regression (a metric) and fairness gates (a column) take [...]"
    if metric == SLICE_REGRESSION and of is not None and of not in DIRECTION:
        return f"unknown metric {of!r} in [...]; known: {', '.join(DIRECTION)}"
    if special and mode not in allowed:
        written = (
            "a plain number (0.1)" if len(allowed) == 1 else "a number (0.05) or percentage (5%)"
        )
        return f"{metric} takes {written}, not a bound of mode {mode!r}"
    if mode not in ("value", "change", "percent"):
        return f"unknown mode {mode!r}; one of value, change, percent"
    if value < 0 and (special or mode == "value"):
        return (
            "an absolute bound cannot be negative; a signed number (+0.01, -0.01) "
            "bounds the change from the baseline"
        )
    return None


@dataclass(frozen=True, slots=True)
class Gates:
    """The gates an evaluation checks, in order."""

    gates: tuple[Gate, ...] = ()

    def __iter__(self) -> Iterator[Gate]:
        return iter(self.gates)

    def __len__(self) -> int:
        return len(self.gates)

    @classmethod
    def parse(cls, texts: str | Iterable[str]) -> Gates:
        """Read gates from CLI strings: a list of them, or one string separated by commas."""
        if isinstance(texts, str):
            texts = [part for part in texts.split(",") if part.strip()]
        return cls(tuple(Gate.parse(text) for text in texts))

    def to_dict(self) -> dict[str, Any]:
        """``{"gates": ["accuracy>=0.8", ...]}``."""
        return {"gates": [gate.text for gate in self.gates]}

    @classmethod
    def from_dict(cls, data: Any) -> Gates:
        """Read :meth:`to_dict` output back."""
        if not isinstance(data, dict) or not isinstance(data.get("gates"), list):
            raise InvalidArgument(f'gates must be {{"gates": [text, ...]}}, got {data!r:.80}')
        return cls.parse(data["gates"])

    def validate(self, task: Task, *, slices: Sequence[str], sensitive: Sequence[str]) -> None:
        """Refuse gates that an evaluation of ``task`` with these columns cannot check."""
        known = (*METRICS[task], SLICE_REGRESSION)
        if task == "classification":
            known = (*known, *FAIRNESS_METRICS)
        for gate in self.gates:
            if gate.metric not in known or (
                gate.metric == SLICE_REGRESSION and gate.of not in (None, *METRICS[task])
            ):
                raise InvalidArgument(
                    f"gate {gate.text!r} does not apply to {task}; its gates can bound "
                    f"{', '.join(known)} (slice_regression of {', '.join(METRICS[task])})"
                )
            if gate.metric == SLICE_REGRESSION and not slices:
                raise InvalidArgument(
                    f"gate {gate.text!r} needs slices: name the columns to slice by"
                )
            if gate.metric in FAIRNESS_METRICS and gate.of not in (None, *sensitive):
                raise InvalidArgument(
                    f"gate {gate.text!r}: {gate.of!r} is not a declared sensitive column"
                    + (f" ({', '.join(sensitive)})" if sensitive else "")
                )
            if gate.metric in FAIRNESS_METRICS and not sensitive:
                raise InvalidArgument(f"gate {gate.text!r} needs a sensitive column: declare one")


@dataclass(frozen=True, slots=True)
class GateCheck:
    """The verdict on one gate: ``observed`` against the bound ``expected``, both in the
    gate's units (percent for percentage gates); ``observed`` is None when it could not be
    measured. ``reason`` says why it passed or failed, in a sentence."""

    name: str
    passed: bool
    observed: float | None
    expected: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "name": self.name,
            "passed": self.passed,
            "observed": self.observed,
            "expected": self.expected,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateCheck:
        """Read :meth:`to_dict` output back."""
        observed = data["observed"]
        return cls(
            name=str(data["name"]),
            passed=bool(data["passed"]),
            observed=None if observed is None else float(observed),
            expected=float(data["expected"]),
            reason=str(data["reason"]),
        )


def check(
    gates: Gates,
    *,
    task: Task,
    candidate: Metrics,
    baseline: Metrics | None = None,
    slices: Sequence[SliceResult] = (),
    fairness: Sequence[FairnessResult] = (),
) -> list[GateCheck]:
    """Judge every gate; a fairness gate gives one check per sensitive column."""
    checks: list[GateCheck] = []
    for gate in gates:
        if gate.metric == SLICE_REGRESSION:
            checks.append(_check_slices(gate, task, slices))
        elif gate.metric in FAIRNESS_METRICS:
            checks += _check_fairness(gate, fairness)
        else:
            checks.append(_check_metric(gate, candidate, baseline))
    return checks


def _check_metric(gate: Gate, candidate: Metrics, baseline: Metrics | None) -> GateCheck:
    name, metric = gate.text, gate.metric
    ours = candidate[metric]
    if ours is None:
        return _failed(gate, f"{metric} could not be computed for the candidate{_why(metric)}")
    if gate.mode == "value":
        return _verdict(gate, name, metric, ours, _number4(ours))
    if baseline is None:
        return _failed(gate, _NO_BASELINE.format(name))
    theirs = baseline[metric]
    if theirs is None:
        return _failed(gate, f"{metric} could not be computed for the baseline{_why(metric)}")
    change, what = ours - theirs, f"the change in {metric} from the baseline"
    if gate.mode == "percent":
        if theirs == 0:
            return _failed(
                gate,
                f"the baseline's {metric} is 0, so a change in percent of it "
                "is undefined; bound the absolute change instead (+0.01)",
            )
        change, what = (
            100 * change / abs(theirs),
            f"the relative change in {metric} from the baseline",
        )
    unit = "%" if gate.mode == "percent" else ""
    subject = f"{what} ({_number4(theirs)} → {_number4(ours)})"
    return _verdict(gate, name, subject, change, f"{change:+.4g}{unit}")


def _check_slices(gate: Gate, task: Task, slices: Sequence[SliceResult]) -> GateCheck:
    metric = gate.of or MAIN_METRIC[task]
    if not slices:
        return _failed(gate, f"{gate.text!r} needs slices, but none were evaluated")
    if any(result.baseline is None for result in slices):
        return _failed(gate, _NO_BASELINE.format(gate.text))
    worst: tuple[float, SliceResult, float, float] | None = None
    for result in slices:
        ours = result.candidate.values.get(metric)
        theirs = None if result.baseline is None else result.baseline.values.get(metric)
        if not result.gated or ours is None or theirs is None:
            continue
        loss = theirs - ours if DIRECTION[metric] == "higher" else ours - theirs
        if gate.mode == "percent":
            if theirs == 0:
                continue
            loss = 100 * loss / abs(theirs)
        if worst is None or loss > worst[0]:
            worst = (loss, result, theirs, ours)
    if worst is None:
        return GateCheck(
            gate.text,
            True,
            None,
            gate.value,
            f"no gated slice (of enough rows) has {metric} for both models: nothing to compare",
        )
    loss, result, theirs, ours = worst
    unit, relative = ("%", "relative ") if gate.mode == "percent" else ("", "")
    subject = (
        f"the largest {relative}{metric} loss in a slice ({result.column}={result.value}, "
        f"{result.rows:,} rows: {_number4(theirs)} → {_number4(ours)})"
    )
    shown = f"{loss:.4g}{unit}" + (" (better in every gated slice)" if loss < 0 else "")
    return _verdict(gate, gate.text, subject, loss, shown)


def _check_fairness(gate: Gate, results: Sequence[FairnessResult]) -> list[GateCheck]:
    chosen = [result for result in results if gate.of in (None, result.column)]
    if not chosen:
        return [_failed(gate, f"{gate.text!r} needs a sensitive column, but none was evaluated")]
    checks = []
    for result in chosen:
        named = Gate(gate.metric, gate.op, gate.value, gate.mode, result.column)
        observed = result.candidate[gate.metric]
        if observed is None:
            checks.append(
                _failed(
                    named,
                    f"{gate.metric} across {result.column} could not be "
                    "computed: no group has the rows it needs",
                )
            )
        else:
            subject = f"the candidate's {gate.metric} across {result.column}"
            checks.append(_verdict(named, named.text, subject, observed, _number4(observed)))
    return checks


_NO_BASELINE = (
    "{} compares the candidate with a baseline, but there is none; evaluate "
    "against a baseline or drop the gate"
)


def _verdict(gate: Gate, name: str, subject: str, observed: float, shown: str) -> GateCheck:
    bound = gate.bound
    if gate.op == ">=":
        passed = observed >= gate.value - _TOLERANCE
        words = "at least" if passed else "below the required minimum"
    else:
        passed = observed <= gate.value + _TOLERANCE
        words = "at most" if passed else "above the allowed maximum"
    tail = " as required" if passed else ""
    return GateCheck(
        name, passed, observed, gate.value, f"{subject} is {shown}, {words} {bound}{tail}"
    )


def _failed(gate: Gate, reason: str) -> GateCheck:
    return GateCheck(gate.text, False, None, gate.value, reason)


def _why(metric: str) -> str:
    if metric == "roc_auc":
        return " (it needs predicted probabilities and both classes among the rows)"
    if metric == "log_loss":
        return " (it needs predicted probabilities and every target label among the classes)"
    return " on this data"


def _number(value: float) -> str:
    """The shortest text that reads back as ``value``."""
    text = repr(float(value) + 0.0)  # + 0.0 turns -0.0 into 0.0
    return text[:-2] if text.endswith(".0") else text


def _number4(value: float) -> str:
    return f"{value:.4g}"
