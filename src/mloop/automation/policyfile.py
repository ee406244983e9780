"""Automation policies written in a YAML file, normally ``mloop.yaml`` in the project.

    policies:
      - name: bikes-retrain
        pipeline: bikes_pipeline:training   # module:function, returns a model
        model: bikes                        # the registered model it retrains
        deployment: bikes-api               # the deployment serving it
        params: {data: bikes@latest, seed: 0}
        triggers:
          - drift: bikes-watch              # a monitor's drift events
          - decay: bikes-watch              # a monitor's decay events
          - new_data: bikes                 # a new version of a dataset
          - schedule: "0 3 * * 1"           # a cron expression
          - manual                          # a bare kind takes no target (only manual)
        gate:                               # optional: data, target and task required
          data: bikes-holdout@latest
          target: cnt
          task: regression                  # classification | regression
          rules: ["mae<=+0"]
          sensitive: []
          validate: true
        rollout:                            # optional, every key has a default
          strategy: canary                  # direct | canary | shadow
          steps: [10, 50, 100]
          watch: 10m
          guards: ["mae<=+5", "latency_p95_ms<=50"]
          min_rows: 50
          after: 0
          timeout: 30m                      # a stage not done by then rolls back
        cooldown: 1h
        rebase:                             # optional: after a promotion, move monitors
          monitors: [bikes-watch]           #   to the new model's training data
          reference: bikes@latest

``name``, ``pipeline``, ``model`` and ``deployment`` are required; an optional key left
empty takes its default. Durations are texts (``90s``, ``10m``, ``2h``, ``1d``, ``0``) or
numbers of seconds. Anchors, aliases and ``<<`` merge keys work; other tags do not.

Every problem raises :class:`PolicyFileError`, whose message names the file, the line
and the key (``mloop.yaml, line 12: policies[0].rollout.steps: ...``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, NoReturn, TypeGuard, TypeVar, cast

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mloop.automation.policy import (
    TRIGGER_KINDS,
    Gate,
    Policy,
    Rebase,
    Rollout,
    Trigger,
    TriggerKind,
)
from mloop.errors import InvalidArgument
from mloop.registry.times import parse_duration

POLICY_FILE = "mloop.yaml"

_T = TypeVar("_T")
_TAG = "tag:yaml.org,2002:"


class _Shape(NamedTuple):
    what: str
    kinds: dict[str, str]  # each key and the ``as_`` method converting its value
    required: tuple[str, ...]


def _shape(what: str, text: str) -> _Shape:
    """``"name:text! steps:ints"``: keys and their kinds, ``!`` marking required keys."""
    pairs = [item.partition(":")[::2] for item in text.split()]
    required = tuple(key for key, kind in pairs if kind.endswith("!"))
    return _Shape(what, {key: kind.rstrip("!") for key, kind in pairs}, required)


_FILE = _shape("the file", "policies:list!")
_POLICY = _shape(
    "a policy",
    "name:text! pipeline:text! model:text! deployment:text! triggers:triggers params:params"
    " gate:gate rollout:rollout cooldown:duration rebase:rebase",
)
_GATE = _shape(
    "a gate", "data:text! target:text! task:text! rules:texts sensitive:texts validate:bool"
)
_REBASE = _shape("a rebase", "monitors:texts! reference:text!")
_ROLLOUT = _shape(
    "a rollout",
    "strategy:text steps:ints watch:duration guards:texts min_rows:int after:duration"
    " timeout:duration",
)


class PolicyFileError(InvalidArgument):
    """A policy file that cannot be read, is not valid YAML or describes a bad policy.

    ``line`` is 1-based (0 when no line applies); ``key`` is the dotted path of the
    offending key (``policies[0].rollout.steps``), empty when none applies."""

    def __init__(self, path: Path, line: int, key: str, reason: str) -> None:
        where = path.name + (f", line {line}" if line > 0 else "")
        super().__init__(f"{where}: {key}: {reason}" if key else f"{where}: {reason}")
        self.path, self.line, self.key, self.reason = path, line, key, reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.line, self.key, self.reason))


def load_policy_file(path: Path) -> list[Policy]:
    """The policies ``path`` describes, in the order it lists them."""
    try:
        data = path.read_bytes()
        root = yaml.compose(data.decode("utf-8-sig"), Loader=yaml.SafeLoader)
    except FileNotFoundError:
        raise PolicyFileError(path, 0, "", f"no policy file at {path}") from None
    except OSError as err:
        reason = err.strerror or str(err)
        raise PolicyFileError(path, 0, "", f"cannot read {path}: {reason}") from None
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        reason = f"not UTF-8 text (byte {err.start}): save the file as UTF-8"
        raise PolicyFileError(path, line, "", reason) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = ", ".join(str(p) for p in (err.context, err.problem) if p)
        line = mark.line + 1 if mark else 0
        raise PolicyFileError(path, line, "", f"not valid YAML: {problem}") from None
    except yaml.YAMLError as err:
        raise PolicyFileError(path, 0, "", f"not valid YAML: {err}") from None
    return _Reader(path).policies(root)


class _Spot(NamedTuple):
    """A converted value and where it came from, to place a constructor's error."""

    field: str
    key: str
    node: Node
    value: object


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.constructor = SafeConstructor()
        self.active: set[int] = set()

    def fail(self, node: Node | None, key: str, reason: str) -> NoReturn:
        raise PolicyFileError(self.path, _line(node), key, reason)

    def policies(self, root: Node | None) -> list[Policy]:
        if root is None:
            self.fail(None, "", "the file is empty: write `policies:` and a list of policies")
        node = self.fields(root, "", _FILE)["policies"]
        if not _is_seq(node):
            self.fail(node, "policies", f"is a list of policies, got {_describe(node)}")
        policies: dict[str, Policy] = {}
        for i, item in enumerate(node.value):
            path = f"policies[{i}]"
            policy = self.section(item, path, Policy, _POLICY)
            if policy.name in policies:
                first = f"policies[{list(policies).index(policy.name)}]"
                name_node = self.fields(item, path, _POLICY)["name"]
                self.fail(name_node, f"{path}.name", f"{first} is named {policy.name!r}")
            policies[policy.name] = policy
        return list(policies.values())

    def section(self, node: Node, path: str, make: Callable[..., _T], shape: _Shape) -> _T:
        """A policy, gate or rollout; a constructor's error placed on the key it names."""
        kwargs, spots = self.convert(self.fields(node, path, shape), path, shape)
        try:
            return make(**kwargs)
        except InvalidArgument as err:
            reason = str(err)
            prefix = f"policy {kwargs['name']}: " if "name" in kwargs else ""
            spot = _locate(reason.removeprefix(prefix), spots)
            self.fail(spot.node if spot else node, spot.key if spot else path, reason)

    def as_params(self, node: Node, path: str) -> dict[str, Any]:
        if not _is_map(node):
            self.fail(node, path, f"maps names to values, got {_describe(node)}")
        return cast(dict[str, Any], self.plain(node, path))

    def as_gate(self, node: Node, path: str) -> Gate:
        return self.section(node, path, Gate, _GATE)

    def as_rollout(self, node: Node, path: str) -> Rollout:
        return self.section(node, path, Rollout, _ROLLOUT)

    def as_rebase(self, node: Node, path: str) -> Rebase:
        return self.section(node, path, Rebase, _REBASE)

    def as_triggers(self, node: Node, path: str) -> tuple[Trigger, ...]:
        if not _is_seq(node):
            self.fail(node, path, f"is a list of triggers, got {_describe(node)}")
        triggers: list[Trigger] = []
        for i, item in enumerate(node.value):
            trigger = self.trigger(item, f"{path}[{i}]")
            earlier = [t.key for t in triggers]
            if trigger.key in earlier:
                where = f"{path}[{earlier.index(trigger.key)}]"
                self.fail(item, f"{path}[{i}]", f"trigger {trigger.key!r} is listed in {where}")
            triggers.append(trigger)
        return tuple(triggers)

    def trigger(self, node: Node, path: str) -> Trigger:
        if isinstance(node, ScalarNode):
            kind_node, target_node = node, None
        elif _is_map(node) and len(node.value) == 1:
            kind_node, target_node = node.value[0]
        else:
            form = "a trigger is `- KIND: TARGET` (e.g. `- drift: bikes-watch`) or `- manual`"
            self.fail(node, path, f"{form}, got {_describe(node)}")
        kind = self.scalar(kind_node, path)
        if not isinstance(kind, str) or kind not in TRIGGER_KINDS:
            known = f"{_hint(kind, TRIGGER_KINDS)}: use one of {', '.join(TRIGGER_KINDS)}"
            self.fail(kind_node, path, f"unknown trigger {kind!r}{known}")
        if kind == "manual":
            if target_node is not None and not _is_null(target_node):
                self.fail(target_node, f"{path}.manual", "manual takes no target: write `- manual`")
            return Trigger("manual")
        if target_node is None:
            example = {"schedule": '"0 3 * * 1"', "new_data": "DATASET"}.get(kind, "MONITOR")
            self.fail(node, path, f"a {kind} trigger needs a target: `- {kind}: {example}`")
        key = f"{path}.{kind}"
        target = self.as_text(target_node, key)
        try:
            return Trigger(cast(TriggerKind, kind), target)
        except InvalidArgument as err:
            self.fail(target_node, key, str(err))

    def convert(
        self, found: dict[str, Node], path: str, shape: _Shape
    ) -> tuple[dict[str, Any], list[_Spot]]:
        """The keyword arguments for the keys that are set (not empty), and their spots."""
        kwargs: dict[str, Any] = {}
        spots: list[_Spot] = []
        for field, kind in shape.kinds.items():
            node = found.get(field)
            if node is None or (_is_null(node) and field not in shape.required):
                continue
            key = f"{path}.{field}"
            value = getattr(self, f"as_{kind}")(node, key)
            kwargs[field] = value
            spots.append(_Spot(field, key, node, value))
            if isinstance(value, tuple):
                items = zip(node.value, value, strict=True)
                spots += [_Spot(field, f"{key}[{i}]", n, v) for i, (n, v) in enumerate(items)]
        return kwargs, spots

    def fields(self, node: Node, path: str, shape: _Shape) -> dict[str, Node]:
        allowed, what = ", ".join(shape.kinds), shape.what
        if not _is_map(node):
            self.fail(node, path, f"{what} is a mapping of {allowed}, got {_describe(node)}")
        found: dict[str, Node] = {}
        for key, key_node, value in self.pairs(node, path):
            if key not in shape.kinds:
                hint = _hint(key, list(shape.kinds))
                self.fail(key_node, _join(path, key), f"unknown key{hint}; {what} takes {allowed}")
            found[key] = value
        for key in shape.required:
            if key not in found:
                needs = ", ".join(shape.required)
                self.fail(node, _join(path, key), f"missing: {what} needs {needs}")
        return found

    def pairs(self, node: MappingNode, path: str) -> list[tuple[str, Node, Node]]:
        """The mapping's entries, merge keys applied; duplicate or non-text keys refused."""
        explicit: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        self.enter(node, path)
        for key_node, value in node.value:
            if key_node.tag == _TAG + "merge":
                for source in value.value if _is_seq(value) else [value]:
                    if not _is_map(source):
                        self.fail(source, path, f"<< merges mappings, got {_describe(source)}")
                    for key, k, v in self.pairs(source, path):
                        merged.setdefault(key, (k, v))
                continue
            name = self.scalar(key_node, path)
            if not isinstance(name, str):
                self.fail(key_node, path, f"keys are texts, got {_describe(key_node)}")
            if name in explicit:
                first = _line(explicit[name][0])
                self.fail(key_node, _join(path, name), f"duplicate key (first on line {first})")
            explicit[name] = (key_node, value)
        self.active.discard(id(node))
        return [(key, k, v) for key, (k, v) in (merged | explicit).items()]

    def enter(self, node: Node, path: str) -> None:
        """Refuses an alias inside the node it names (left by ``self.active.discard``)."""
        if id(node) in self.active:
            self.fail(node, path, "an alias refers to a node that contains it")
        self.active.add(id(node))

    def plain(self, node: Node, path: str) -> Any:
        """``node`` as plain Python values: dicts, lists and scalars."""
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if _is_map(node):
            items = [(key, _join(path, key), v) for key, _, v in self.pairs(node, path)]
        elif _is_seq(node):
            items = [(str(i), f"{path}[{i}]", v) for i, v in enumerate(node.value)]
        else:
            self.fail(node, path, f"the tag {node.tag} is not supported")
        self.enter(node, path)
        values = {key: self.plain(value, where) for key, where, value in items}
        self.active.discard(id(node))
        return values if _is_map(node) else list(values.values())

    def scalar(self, node: Node, path: str) -> object:
        if not isinstance(node, ScalarNode):
            self.fail(node, path, f"expected a single value, got {_describe(node)}")
        kind = node.tag.removeprefix(_TAG)
        if kind == "timestamp":
            return str(node.value)
        if kind not in ("str", "int", "float", "bool", "null"):
            self.fail(node, path, f"the tag {node.tag} is not supported")
        return self.constructor.construct_object(node)

    def as_text(self, node: Node, path: str) -> str:
        value = self.scalar(node, path) if isinstance(node, ScalarNode) else None
        if isinstance(value, str) and value.strip():
            return value
        quote = f' (quote it: "{node.value}")' if value is not None and value != "" else ""
        self.fail(node, path, f"is a non-empty text, got {_describe(node)}{quote}")

    def as_texts(self, node: Node, path: str) -> tuple[str, ...]:
        if not _is_seq(node):
            self.fail(node, path, f"is a list of texts, got {_describe(node)}")
        return tuple(self.as_text(item, f"{path}[{i}]") for i, item in enumerate(node.value))

    def as_ints(self, node: Node, path: str) -> tuple[int, ...]:
        if not _is_seq(node):
            self.fail(node, path, f"is a list of whole numbers, got {_describe(node)}")
        return tuple(self.as_int(item, f"{path}[{i}]") for i, item in enumerate(node.value))

    def as_int(self, node: Node, path: str) -> int:
        return self.typed(node, path, int, "a whole number")

    def as_bool(self, node: Node, path: str) -> bool:
        return self.typed(node, path, bool, "true or false")

    def typed(self, node: Node, path: str, kind: type[_T], what: str) -> _T:
        value = self.scalar(node, path) if isinstance(node, ScalarNode) else None
        if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return value
        self.fail(node, path, f"is {what}, got {_describe(node)}")

    def as_duration(self, node: Node, path: str) -> str:
        value = self.scalar(node, path) if isinstance(node, ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            reason = "is a duration such as 90s, 10m, 2h, 1d or 0 (a number means seconds)"
            self.fail(node, path, f"{reason}, got {_describe(node)}")
        text = value if isinstance(value, str) else f"{value:g}s" if value else "0"
        try:
            parse_duration(text)
        except InvalidArgument as err:
            self.fail(node, path, str(err))
        return text


def _locate(message: str, spots: Sequence[_Spot]) -> _Spot | None:
    """The spot ``message`` is most likely about: it quotes its value, names its field."""
    best, best_score = None, 0
    for spot in spots:
        score = 0
        if isinstance(spot.value, str):
            quoted = {repr(spot.value), repr(spot.value.strip().lower())}
            score += 2 * any(q in message for q in quoted)
        score += bool(re.search(rf"\b{re.escape(spot.field)}\b", message))
        if score > best_score:
            best, best_score = spot, score
    return best


def _hint(word: object, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1) if isinstance(word, str) else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def _line(node: Node | None) -> int:
    return node.start_mark.line + 1 if node is not None and node.start_mark else 0


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_map(node: Node | None) -> TypeGuard[MappingNode]:
    return isinstance(node, MappingNode) and node.tag == _TAG + "map"


def _is_seq(node: Node | None) -> TypeGuard[SequenceNode]:
    return isinstance(node, SequenceNode) and node.tag == _TAG + "seq"


def _is_null(node: Node | None) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _TAG + "null"


def _describe(node: Node | None) -> str:
    kind = "null" if node is None else node.tag.removeprefix(_TAG)
    if isinstance(node, ScalarNode) and kind in ("str", "int", "float", "bool"):
        what = {"str": "text", "bool": "boolean"}.get(kind, "number")
        return f"the {what} {node.value!r}" if kind == "str" else f"the {what} {node.value}"
    names = {"null": "nothing", "map": "a mapping", "seq": "a list"}
    return names.get(kind, f"a value tagged {node.tag if node else kind}")
