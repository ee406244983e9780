"""A pipeline's graph, recorded by calling its function with placeholders.

The pipeline function runs once when it is defined: each step call records a node
whose inputs are pipeline parameters, literal values, or earlier nodes' outputs.
Mistakes are errors then, naming the pipeline file and line: a missing or unknown
argument, an output passed where the step's annotation wants another type, an
output used in Python code instead of passed to a step.
"""

from __future__ import annotations

import inspect
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mloop.errors import InvalidArgument
from mloop.pipelines.step import TRACING, Step


class DefinitionError(InvalidArgument):
    """A pipeline that cannot run as written; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Param:
    """A pipeline parameter, known when the pipeline runs."""

    name: str


class Ref:
    """The output of a node, known when the pipeline runs: pass it to another step."""

    __slots__ = ("location", "node", "step")

    def __init__(self, node: str, step: Step, location: Location) -> None:
        self.node, self.step, self.location = node, step, location

    def _misuse(self, what: str) -> DefinitionError:
        return DefinitionError(
            f"{_caller()}: the output of step {self.node} is only known when the pipeline "
            f"runs, so it cannot be {what} while the pipeline is defined: pass it to a step"
        )

    def __getattr__(self, name: str) -> Any:
        raise self._misuse(f"read (.{name})")

    def __bool__(self) -> bool:
        raise self._misuse("tested (if / and / or)")

    def __iter__(self) -> Any:
        raise self._misuse("iterated")

    def __repr__(self) -> str:
        return f"<output of {self.node}>"


@dataclass(slots=True)
class Node:
    name: str
    step: Step
    inputs: dict[str, Any]
    """Argument name → :class:`Ref`, :class:`Param` or a literal value."""
    location: Location

    @property
    def upstream(self) -> list[str]:
        return [value.node for value in self.inputs.values() if isinstance(value, Ref)]


@dataclass(slots=True)
class Graph:
    nodes: list[Node] = field(default_factory=list)
    output: Any = None


class Tracer:
    def __init__(self) -> None:
        self.graph = Graph()
        self._counts: dict[str, int] = {}

    def call(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Ref:
        where = _caller()
        try:
            bound = step.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise DefinitionError(f"{where}: {step.name}(): {exc}") from None
        bound.apply_defaults()
        hints = _hints(step)
        for name, value in bound.arguments.items():
            _check_input(step, name, value, hints.get(name), where)
        count = self._counts.get(step.name, 0) + 1
        self._counts[step.name] = count
        node = step.name if count == 1 else f"{step.name}#{count}"
        self.graph.nodes.append(Node(node, step, dict(bound.arguments), where))
        return Ref(node, step, where)


def trace(fn: Any, params: list[str]) -> Graph:
    """Run the pipeline function ``fn`` with placeholders and return its graph."""
    tracer = Tracer()
    token = TRACING.set(tracer)
    try:
        output = fn(**{name: Param(name) for name in params})
    finally:
        TRACING.reset(token)
    if not tracer.graph.nodes:
        raise DefinitionError(f"{_definition(fn)}: the pipeline calls no step")
    tracer.graph.output = output
    return tracer.graph


def _check_input(step: Step, name: str, value: Any, wanted: Any, where: Location) -> None:
    if isinstance(value, list | tuple | dict | set):
        items = value.values() if isinstance(value, dict) else value
        if any(isinstance(item, Ref | Param) for item in items):
            raise DefinitionError(
                f"{where}: {step.name}({name}=...): step outputs and parameters are passed "
                "as arguments of their own, not inside a list or dict"
            )
    if isinstance(value, Ref) and wanted is not None:
        produced = _hints(value.step).get("return")
        if produced is not None and not _compatible(produced, wanted):
            raise DefinitionError(
                f"{where}: {step.name}({name}=...) takes {_name(wanted)}, but step "
                f"{value.node} returns {_name(produced)}"
            )


def _hints(step: Step) -> dict[str, Any]:
    try:
        return typing.get_type_hints(step.fn)
    except Exception:  # unresolvable annotations: no type check
        return {}


def _compatible(produced: Any, wanted: Any) -> bool:
    if wanted is Any or produced is Any:
        return True
    wanted_types = _classes(wanted)
    produced_types = _classes(produced)
    if not wanted_types or not produced_types:
        return True
    return all(any(_subclass(p, w) for w in wanted_types) for p in produced_types)


def _classes(annotation: Any) -> tuple[type, ...]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return tuple(c for arg in typing.get_args(annotation) for c in _classes(arg))
    if origin is not None:
        return (origin,) if isinstance(origin, type) else ()
    return (annotation,) if isinstance(annotation, type) else ()


def _subclass(produced: type, wanted: type) -> bool:
    if wanted is float and produced is int:
        return True
    try:
        return issubclass(produced, wanted)
    except TypeError:
        return True


def _name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)


_HERE = str(Path(__file__).resolve().parent)


def _caller() -> Location:
    """The innermost frame outside mloop's pipeline code: where the user wrote the call."""
    frame = sys._getframe(1)
    while frame is not None:
        file = frame.f_code.co_filename
        if not str(Path(file).resolve()).startswith(_HERE):
            return Location(file, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return Location("<unknown>", 0)


def _definition(fn: Any) -> Location:
    try:
        return Location(inspect.getsourcefile(fn) or "<unknown>", inspect.getsourcelines(fn)[1])
    except (OSError, TypeError):
        return Location("<unknown>", 0)
