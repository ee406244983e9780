"""A policy: which pipeline retrains which model, when, behind which gates, and how
its candidate reaches traffic.

    from mloop.automation import Gate, Policy, Rollout, Trigger

    policy = Policy(
        "bikes-retrain",
        pipeline="bikes_pipeline:training",
        params={"data": "bikes@latest"},        # NAME@latest is fixed when a run is triggered
        model="bikes",
        deployment="bikes-api",
        triggers=[Trigger.drift("bikes-watch"), Trigger.schedule("0 3 * * 1")],
        gate=Gate(data="bikes-holdout@latest", target="cnt", task="regression",
                  rules=["mae<=+0"]),
        rollout=Rollout("canary", steps=(10, 50, 100), watch="10m",
                        guards=["mae<=+5", "latency_p95_ms<=50"]),
        rebase=Rebase(monitors=["bikes-watch"], reference="bikes@latest"),
    )

The same policy can be written in ``mloop.yaml`` (see :mod:`mloop.automation.policyfile`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mloop.automation.cron import Cron
from mloop.automation.guards import Guard, parse_guard
from mloop.errors import InvalidArgument
from mloop.evaluation.gates import Gates
from mloop.registry.times import parse_duration
from mloop.store import validate

TriggerKind = Literal["schedule", "new_data", "drift", "decay", "manual"]
TRIGGER_KINDS: tuple[TriggerKind, ...] = ("schedule", "new_data", "drift", "decay", "manual")
Strategy = Literal["direct", "canary", "shadow"]
STRATEGIES: tuple[Strategy, ...] = ("direct", "canary", "shadow")
LATEST = "@latest"


@dataclass(frozen=True, slots=True)
class Trigger:
    """What starts a run: a cron ``schedule``, a ``new_data`` version of a dataset, a
    ``drift`` or ``decay`` event of a monitor; ``manual`` ones come from
    ``mloop agent trigger`` (every policy takes them)."""

    kind: TriggerKind
    target: str = ""
    """The cron expression, the dataset's name or the monitor's name."""

    def __post_init__(self) -> None:
        if self.kind not in TRIGGER_KINDS:
            raise InvalidArgument(
                f"unknown trigger {self.kind!r}: use one of {', '.join(TRIGGER_KINDS)}"
            )
        if self.kind == "manual":
            return
        if not isinstance(self.target, str) or not self.target.strip():
            what = {"schedule": "a cron expression", "new_data": "a dataset name"}
            raise InvalidArgument(
                f"a {self.kind} trigger needs {what.get(self.kind, 'a monitor name')}"
            )
        if self.kind == "schedule":
            Cron.parse(self.target)

    @property
    def key(self) -> str:
        """Names the trigger within its policy (``drift:bikes-watch``)."""
        return f"{self.kind}:{self.target}" if self.target else self.kind

    @classmethod
    def schedule(cls, cron: str) -> Trigger:
        return cls("schedule", cron)

    @classmethod
    def new_data(cls, dataset: str) -> Trigger:
        return cls("new_data", dataset)

    @classmethod
    def drift(cls, monitor: str) -> Trigger:
        return cls("drift", monitor)

    @classmethod
    def decay(cls, monitor: str) -> Trigger:
        return cls("decay", monitor)


@dataclass(frozen=True, slots=True)
class Gate:
    """The candidate is evaluated on ``data`` (a dataset version; ``NAME@latest`` is
    fixed when the run is triggered) against the current champion and must meet every
    rule (the gate syntax of ``mloop models evaluate``, fairness rules with
    ``sensitive`` columns included). ``validate`` also checks ``data`` against its
    dataset's schema first."""

    data: str
    target: str
    task: Literal["classification", "regression"]
    rules: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    validate: bool = True

    def __post_init__(self) -> None:
        for name in ("data", "target"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidArgument(f"the gate needs {name}: a non-empty text")
        if self.task not in ("classification", "regression"):
            raise InvalidArgument(
                f"the gate's task is classification or regression, got {self.task!r}"
            )
        object.__setattr__(self, "rules", _texts("gate rules", self.rules))
        object.__setattr__(self, "sensitive", _texts("sensitive columns", self.sensitive))
        Gates.parse(list(self.rules)).validate(self.task, slices=(), sensitive=self.sensitive)


@dataclass(frozen=True, slots=True)
class Rollout:
    """How a candidate that passed its gate reaches traffic.

    ``direct`` moves the champion alias at once; ``canary`` sends it ``steps`` percent
    of the deployment's traffic in turn, each for ``watch``; ``shadow`` first scores
    every request in shadow for ``watch``, then goes on as a canary. ``guards`` are
    checked on the candidate's logged traffic (once it has ``min_rows`` rows) during
    every stage and for ``after`` past promotion; a breach rolls back. A stage that has
    not shown ``min_rows`` scored rows and every guard measured and held within
    ``timeout`` (by default three watches, and at least ten minutes) rolls back too."""

    strategy: Strategy = "direct"
    steps: tuple[int, ...] = (10, 50, 100)
    watch: str = "10m"
    guards: tuple[str, ...] = ()
    min_rows: int = 50
    after: str = "0"
    timeout: str | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InvalidArgument(
                f"unknown rollout {self.strategy!r}: use one of {', '.join(STRATEGIES)}"
            )
        steps = tuple(self.steps)
        if (
            not steps
            or any(isinstance(s, bool) or not isinstance(s, int) for s in steps)
            or any(not 0 < s <= 100 for s in steps)
            or list(steps) != sorted(set(steps))
            or steps[-1] != 100
        ):
            raise InvalidArgument(
                f"canary steps are rising percents ending at 100, e.g. [10, 50, 100]; got {steps}"
            )
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "guards", _texts("guards", self.guards))
        self.parsed_guards()
        watch = parse_duration(self.watch)
        if self.timeout is not None and parse_duration(self.timeout) < watch:
            raise InvalidArgument(
                f"a rollout's timeout ({self.timeout}) is at least its watch ({self.watch})"
            )
        parse_duration(self.after)
        if isinstance(self.min_rows, bool) or not isinstance(self.min_rows, int):
            raise InvalidArgument(f"min_rows is a whole number, got {self.min_rows!r}")
        if not 1 <= self.min_rows <= 10_000_000:
            raise InvalidArgument("min_rows is between 1 and 10,000,000")

    def parsed_guards(self) -> list[Guard]:
        return [parse_guard(text) for text in self.guards]

    @property
    def watch_ms(self) -> int:
        return int(parse_duration(self.watch).total_seconds() * 1000)

    @property
    def timeout_ms(self) -> int:
        if self.timeout is not None:
            return int(parse_duration(self.timeout).total_seconds() * 1000)
        return max(3 * self.watch_ms, 600_000)

    @property
    def after_ms(self) -> int:
        return int(parse_duration(self.after).total_seconds() * 1000)


@dataclass(frozen=True, slots=True)
class Rebase:
    """After a promotion, move ``monitors`` to ``reference`` (the new model's training
    data; ``NAME@latest`` is fixed when the run is triggered), so they compare the
    traffic with what the new champion learned from, not with what the old one did."""

    monitors: tuple[str, ...]
    reference: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "monitors", _texts("rebased monitors", self.monitors))
        if not self.monitors:
            raise InvalidArgument("rebase names at least one monitor")
        if not isinstance(self.reference, str) or not self.reference.strip():
            raise InvalidArgument("rebase needs reference: a dataset version, e.g. bikes@latest")


@dataclass(frozen=True, slots=True)
class Policy:
    """Binds the pipeline ``pipeline`` (``module:function``, returning a model) to the
    registered model ``model`` served by ``deployment``."""

    name: str
    pipeline: str
    model: str
    deployment: str
    triggers: tuple[Trigger, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    gate: Gate | None = None
    rollout: Rollout = field(default_factory=Rollout)
    cooldown: str = "0"
    """After a run ends, triggers within this long are recorded as skipped."""
    rebase: Rebase | None = None

    def __post_init__(self) -> None:
        validate.key("policy name", self.name)
        if not isinstance(self.pipeline, str) or ":" not in self.pipeline:
            raise InvalidArgument(
                f"policy {self.name}: pipeline is module:function, got {self.pipeline!r}"
            )
        validate.model_name(self.model)
        validate.key("deployment", self.deployment)
        triggers = tuple(self.triggers)
        if any(not isinstance(t, Trigger) for t in triggers):
            raise InvalidArgument(f"policy {self.name}: triggers are Trigger values")
        keys = [t.key for t in triggers]
        if len(set(keys)) != len(keys):
            raise InvalidArgument(f"policy {self.name}: a trigger is listed twice")
        object.__setattr__(self, "triggers", triggers)
        if not isinstance(self.params, Mapping) or any(not isinstance(k, str) for k in self.params):
            raise InvalidArgument(f"policy {self.name}: params map names to values")
        object.__setattr__(self, "params", dict(self.params))
        parse_duration(self.cooldown)
        if self.rebase is not None and not isinstance(self.rebase, Rebase):
            raise InvalidArgument(f"policy {self.name}: rebase is a Rebase value")

    @property
    def cooldown_ms(self) -> int:
        return int(parse_duration(self.cooldown).total_seconds() * 1000)

    def datasets(self) -> list[str]:
        """The datasets the policy names with ``NAME@latest`` (in params and the gate)."""
        texts = [v for v in self.params.values() if isinstance(v, str)]
        if self.gate is not None:
            texts.append(self.gate.data)
        if self.rebase is not None:
            texts.append(self.rebase.reference)
        return [t.removesuffix(LATEST) for t in texts if t.endswith(LATEST)]


def _texts(what: str, values: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(values, str) or any(not isinstance(v, str) or not v.strip() for v in values):
        raise InvalidArgument(f"{what} are a list of non-empty texts, got {values!r}")
    return tuple(values)
