"""``@mloop.step``: a plain function that becomes a cached, tracked step inside a pipeline.

Outside a pipeline a step is just its function: calling it runs it. While a
pipeline is being defined, calling it records a node of the pipeline's graph and
returns a reference to its output, which other steps take as an input.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar, overload

from mloop.errors import InvalidArgument

F = TypeVar("F", bound=Callable[..., Any])


class _Tracer(Protocol):
    def call(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...


TRACING: ContextVar[_Tracer | None] = ContextVar("mloop_pipeline_tracing", default=None)


class Step:
    """A function with what its pipeline needs to know: whether it may be cached, how
    often to retry it, and which installed distributions belong to its cache key."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        cache: bool = True,
        retries: int = 0,
        env: Sequence[str] = (),
    ) -> None:
        if not callable(fn) or not inspect.isfunction(fn):
            raise InvalidArgument(f"@mloop.step decorates a function, got {type(fn).__name__}")
        if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10:
            raise InvalidArgument(f"{fn.__name__}: retries is a whole number from 0 to 10")
        if isinstance(env, str):
            raise InvalidArgument(f"{fn.__name__}: env is a list of distribution names")
        kinds = {p.kind for p in inspect.signature(fn).parameters.values()}
        if kinds & {
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
            inspect.Parameter.POSITIONAL_ONLY,
        }:
            raise InvalidArgument(
                f"{fn.__name__}: a step's parameters are named ones (no *args, **kwargs or "
                "positional-only parameters), so each input has a name in the graph"
            )
        self.fn = fn
        self.name = name or fn.__name__
        self.cache = bool(cache)
        self.retries = retries
        self.env = tuple(env)
        self.signature = inspect.signature(fn)
        self.reference = f"{fn.__module__}:{fn.__qualname__}"
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tracer = TRACING.get()
        if tracer is None:
            return self.fn(*args, **kwargs)
        return tracer.call(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<mloop step {self.name} ({self.reference})>"


@overload
def step(fn: F) -> Step: ...


@overload
def step(
    fn: None = None,
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    env: Sequence[str] = (),
) -> Callable[[F], Step]: ...


def step(
    fn: F | None = None,
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    env: Sequence[str] = (),
) -> Step | Callable[[F], Step]:
    """Make ``fn`` a pipeline step: ``@mloop.step`` or ``@mloop.step(cache=False, retries=2)``.

    ``cache=False`` runs it every time; ``retries`` reruns it after a failure;
    ``env`` names distributions whose installed versions count in its cache key.
    """
    if fn is not None:
        return Step(fn, name=name, cache=cache, retries=retries, env=env)
    return lambda f: Step(f, name=name, cache=cache, retries=retries, env=env)
