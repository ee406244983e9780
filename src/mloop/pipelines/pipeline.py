"""``@mloop.pipeline``: a function of step calls, run with caching on an executor.

@mloop.pipeline
def training(rows: int = 1000, alpha: float = 0.1):
    data = load(rows)
    model = train(data, alpha)
    return evaluate(model, data)

result = training.run({"alpha": 0.3}, executor="dask")
result.output            # the returned step's output, read back
"""

from __future__ import annotations

import functools
import inspect
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from mloop.errors import InvalidArgument
from mloop.imports import import_object
from mloop.pipelines.code import code_digest
from mloop.pipelines.execute import EXPERIMENT, PIPELINE_TAG, StepFailed, StepTask
from mloop.pipelines.executors import Executor, executor_for
from mloop.pipelines.graph import Graph, Node, Param, Ref, trace
from mloop.pipelines.values import canonical, load_value
from mloop.store import PipelineRun, PipelineStatus, RunStatus, StepRun
from mloop.store.entities import now_ms
from mloop.tracking.client import Client
from mloop.tracking.fluent import default_client


class PipelineFailed(StepFailed):
    """A pipeline stopped at a failing step; ``run_id`` resumes it."""

    def __init__(self, node: str, message: str, run_id: str) -> None:
        super().__init__(node, message)
        self.run_id = run_id


@dataclass(frozen=True)
class PipelineResult:
    run: PipelineRun
    steps: list[StepRun]
    outputs: dict[str, dict[str, str]]
    """Each node's stored output: its kind and digest."""
    client: Client
    graph: Graph

    @property
    def output(self) -> Any:
        """What the pipeline function returned, with step outputs read back."""
        return _resolve(self.graph.output, self.outputs, self.client, json.loads(self.run.params))

    def value(self, node: str) -> Any:
        return load_value(self.client, self.outputs[node])


class Pipeline:
    def __init__(self, fn: Any, *, name: str | None = None) -> None:
        if not inspect.isfunction(fn):
            raise InvalidArgument(f"@mloop.pipeline decorates a function, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or fn.__name__
        self.reference = f"{fn.__module__}:{fn.__qualname__}"
        self.signature = inspect.signature(fn)
        self.graph = trace(fn, list(self.signature.parameters))
        self._codes = {node.step.reference: code_digest(node.step) for node in self.graph.nodes}
        functools.update_wrapper(self, fn)

    def run(
        self,
        params: dict[str, Any] | None = None,
        *,
        executor: str | Executor = "local",
        cache: bool = True,
        client: Client | None = None,
        project: str = "default",
        resumed_from: str | None = None,
    ) -> PipelineResult:
        """Run every step (reusing cached ones unless ``cache=False``); raises
        :class:`PipelineFailed`, naming the run to resume, when a step keeps failing."""
        values = self.bind(params or {})
        client = client or default_client()
        settings = client.settings
        chosen = executor_for(executor)  # an unreachable scheduler fails before any work
        try:
            parent = client.create_run(EXPERIMENT, name=self.name)
            client.log_params(parent.id, values)  # as every run's params are written
            run = client.store.pipelines.create_run(
                PipelineRun(
                    uuid.uuid4().hex,
                    self.reference,
                    json.dumps(values, sort_keys=True),
                    PipelineStatus.RUNNING,
                    chosen.name,
                    parent.id,
                    settings.user,
                    now_ms(),
                    None,
                    None,
                    resumed_from,
                ),
                project,
            )
            client.set_tags(parent.id, {PIPELINE_TAG: run.id, **_cwd_tag(parent.tags)})

            def make_task(node: Node) -> StepTask:
                literals = {
                    n: _literal(v, values) for n, v in node.inputs.items() if not isinstance(v, Ref)
                }
                return StepTask(
                    run.id,
                    parent.id,
                    node.name,
                    node.step,
                    self._codes[node.step.reference],
                    literals,
                    cache,
                    settings.uri,
                    settings.blobs,
                    {n: canonical(v) for n, v in literals.items()},
                )

            try:
                outputs = chosen.run(self.graph, make_task)
            except StepFailed as exc:
                client.store.pipelines.finish_run(run.id, PipelineStatus.FAILED, now_ms(), str(exc))
                client.end_run(parent.id, RunStatus.FAILED)
                raise PipelineFailed(
                    exc.node, f"{exc}\nResume with: mloop pipeline resume {run.id[:12]}", run.id
                ) from None
            client.store.pipelines.finish_run(run.id, PipelineStatus.FINISHED, now_ms())
            client.end_run(parent.id, RunStatus.FINISHED)
        finally:
            chosen.close()
        return PipelineResult(
            client.store.pipelines.get_run(run.id),
            client.store.pipelines.steps(run.id),
            outputs,
            client,
            self.graph,
        )

    def __call__(self, **params: Any) -> PipelineResult:
        return self.run(params)

    def bind(self, params: dict[str, Any]) -> dict[str, Any]:
        """The run's parameter values: given ones, then defaults; unknown or missing ones
        are errors (before any work)."""
        unknown = sorted(set(params) - set(self.signature.parameters))
        if unknown:
            known = ", ".join(self.signature.parameters) or "none"
            raise InvalidArgument(f"pipeline {self.name} has no parameter {unknown[0]!r} ({known})")
        values = {}
        for name, parameter in self.signature.parameters.items():
            if name in params:
                values[name] = params[name]
            elif parameter.default is not inspect.Parameter.empty:
                values[name] = parameter.default
            else:
                raise InvalidArgument(f"pipeline {self.name} needs the parameter {name!r}")
            canonical(values[name])
        return values

    def __repr__(self) -> str:
        return f"<mloop pipeline {self.name} ({self.reference}), {len(self.graph.nodes)} steps>"


def _cwd_tag(tags: dict[str, str]) -> dict[str, str]:
    """Where the pipeline was run from, relative to the git root its run captured (for
    reproduce)."""
    from mloop.pipelines.reproduce import CWD_TAG
    from mloop.tracking import capture

    root = tags.get(capture.GIT_ROOT)
    if not root:
        return {}
    try:
        return {CWD_TAG: str(Path.cwd().resolve().relative_to(Path(root).resolve()))}
    except ValueError:
        return {}


def _literal(value: Any, params: dict[str, Any]) -> Any:
    return params[value.name] if isinstance(value, Param) else value


def _resolve(
    value: Any, outputs: dict[str, dict[str, str]], client: Client, params: dict[str, Any]
) -> Any:
    if isinstance(value, Ref):
        return load_value(client, outputs[value.node])
    if isinstance(value, Param):
        return params[value.name]
    if isinstance(value, dict):
        return {k: _resolve(v, outputs, client, params) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_resolve(v, outputs, client, params) for v in value)
    return value


@overload
def pipeline(fn: Any) -> Pipeline: ...


@overload
def pipeline(fn: None = None, *, name: str | None = None) -> Any: ...


def pipeline(fn: Any = None, *, name: str | None = None) -> Any:
    """Make ``fn`` a pipeline; its graph is recorded (and checked) right away."""
    if fn is not None:
        return Pipeline(fn, name=name)
    return lambda f: Pipeline(f, name=name)


def load_pipeline(reference: str) -> Pipeline:
    """The pipeline ``module:function`` (the current folder is importable)."""
    found = import_object(reference, "a pipeline as module:function")
    if not isinstance(found, Pipeline):
        raise InvalidArgument(f"{reference} is a {type(found).__name__}, not an @mloop.pipeline")
    return found


def resume(
    run_id: str,
    *,
    client: Client | None = None,
    executor: str | Executor = "local",
    project: str = "default",
) -> PipelineResult:
    """Run a failed pipeline run again with its parameters: finished steps are reused."""
    client = client or default_client()
    previous = client.store.pipelines.get_run(run_id)
    found = load_pipeline(previous.pipeline)
    return found.run(
        json.loads(previous.params),
        executor=executor,
        client=client,
        project=project,
        resumed_from=previous.id,
    )
