"""Running one step call, the same way on every executor: reuse it from the cache, or
run it (with retries) as a tracked run and store its output."""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass, field
from typing import Any

from mloop.blobs import Digest
from mloop.errors import MloopError
from mloop.pipelines.code import cache_key
from mloop.pipelines.step import Step
from mloop.pipelines.values import UnsupportedOutput, load_value, store_value
from mloop.store import NewStepRun, RunStatus, StepRun, StepStatus
from mloop.store.entities import now_ms
from mloop.tracking.client import Client
from mloop.tracking.fluent import activated, client_for

EXPERIMENT = "pipelines"
PIPELINE_TAG = "mloop.pipeline.run"
NODE_TAG = "mloop.pipeline.step"
KEY_TAG = "mloop.pipeline.cache_key"


class StepFailed(MloopError):
    """A step kept failing; the message has its traceback."""

    def __init__(self, node: str, message: str) -> None:
        super().__init__(message)
        self.node = node


@dataclass(frozen=True)
class StepTask:
    """Everything a worker needs to run one call (picklable: it travels to Dask workers)."""

    pipeline_run: str
    parent_run: str
    node: str
    step: Step
    code: str
    literals: dict[str, Any]
    use_cache: bool
    uri: str
    blobs: str | None
    keys: dict[str, str] = field(default_factory=dict)
    """Literal inputs' canonical text, for the cache key."""


def run_task(task: StepTask, upstream: dict[str, dict[str, str]]) -> dict[str, str]:
    """Run ``task`` with the outputs of the steps it takes (``upstream``); its output."""
    client = client_for(task.uri, task.blobs)
    inputs = {**task.keys, **{n: f"{o['kind']}:{o['digest']}" for n, o in upstream.items()}}
    key = cache_key(task.step, task.code, inputs)
    started = now_ms()
    if task.use_cache and task.step.cache:
        hit = _reusable(client, key)
        if hit is not None:
            _record(
                client,
                task,
                key,
                StepStatus.REUSED,
                hit.outputs,
                hit.run_id,
                0,
                started,
                reused_from=hit.id,
            )
            return dict(json.loads(hit.outputs))
    run = client.create_run(
        EXPERIMENT,
        name=task.node,
        parent_id=task.parent_run,
        capture_env=False,
        tags={PIPELINE_TAG: task.pipeline_run, NODE_TAG: task.node, KEY_TAG: key},
    )
    client.log_params(run.id, task.literals)
    args = {**task.literals, **{n: load_value(client, o) for n, o in upstream.items()}}
    error = ""
    for attempt in range(1, task.step.retries + 2):
        try:
            with activated(client, run):
                value = task.step.fn(**args)
        except Exception:
            error = traceback.format_exc()
            continue
        try:
            output = store_value(client, value, run.id, task.node)
        except UnsupportedOutput as exc:
            error = str(exc)
            break
        _record(client, task, key, StepStatus.DONE, json.dumps(output), run.id, attempt, started)
        client.end_run(run.id, RunStatus.FINISHED)
        return output
    _record(client, task, key, StepStatus.FAILED, "null", run.id, attempt, started, error=error)
    client.end_run(run.id, RunStatus.FAILED)
    raise StepFailed(task.node, f"step {task.node} failed after {attempt} attempt(s):\n{error}")


def _reusable(client: Client, key: str) -> StepRun | None:
    hit = client.store.pipelines.cached(key)
    if hit is None:
        return None
    output = json.loads(hit.outputs)
    digest = Digest(output["digest"])
    present = client.blobs.exists([digest])
    return hit if digest in present else None  # collected: compute it again


def _record(  # noqa: PLR0917 (one step run's columns)
    client: Client,
    task: StepTask,
    key: str,
    status: StepStatus,
    outputs: str,
    run_id: str | None,
    attempts: int,
    started: int,
    *,
    error: str | None = None,
    reused_from: int | None = None,
) -> None:
    client.store.pipelines.record_step(
        task.pipeline_run,
        NewStepRun(
            task.node,
            task.step.reference,
            key,
            status,
            outputs,
            run_id,
            attempts,
            started,
            now_ms(),
            error,
            reused_from,
        ),
    )
