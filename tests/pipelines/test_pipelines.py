"""Pipelines: caching, code changes, executors, retries, resume, and errors before work."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import flows
import mloop
from mloop.errors import BackendUnavailable, InvalidArgument
from mloop.pipelines import DefinitionError, PipelineFailed, UnsupportedOutput, resume
from mloop.store import StepStatus
from mloop.tracking.client import Client


def statuses(result: mloop.pipelines.PipelineResult) -> dict[str, str]:
    return {s.node: s.status.value for s in result.steps}


def test_garbage_collection_keeps_step_outputs_for_the_cache(client: Client) -> None:
    from datetime import timedelta

    first = flows.training.run({"rows": 200}, client=client)
    client.garbage_collect(delete=True, min_age=timedelta(0))
    again = flows.training.run({"rows": 200}, client=client)
    assert set(statuses(again).values()) == {"REUSED"}
    assert again.output == first.output


def test_a_second_run_reuses_every_step_in_under_a_second(client: Client) -> None:
    first = flows.training.run(client=client)
    assert set(statuses(first).values()) == {"DONE"}
    assert first.output["accuracy"] > 0.9 and first.output["shape"]["rows"] == 400
    start = time.perf_counter()
    second = flows.training.run(client=client)
    assert time.perf_counter() - start < 1.0
    assert set(statuses(second).values()) == {"REUSED"} and second.outputs == first.outputs
    reused = {s.node: s.reused_from for s in second.steps}
    assert reused == {s.node: s.id for s in first.steps}
    assert second.output == first.output
    third = flows.training.run({"c": 0.01}, client=client)  # a parameter of one step
    assert statuses(third) == {
        "load": "REUSED",
        "features": "REUSED",
        "train": "DONE",
        "accuracy": "DONE",
        "rows_of": "REUSED",
    }
    assert set(statuses(flows.training.run(client=client, cache=False)).values()) == {"DONE"}


def test_each_step_is_a_tracked_run_of_its_pipeline_run(client: Client) -> None:
    result = flows.training.run({"rows": 100}, client=client)
    parent = client.get_run(result.run.run_id)
    children = client.search_runs(f"attributes.parent_id = '{parent.id}'").items
    assert {r.name for r in children} == {"load", "features", "train", "accuracy", "rows_of"}
    assert client.get_run(result.steps[0].run_id).params == {"rows": "100", "seed": "0"}


CHANGED = """
import mloop

def helper(x: int) -> int:
    return x + {helper}

@mloop.step
def first(n: int) -> int:
    return n * {first}

@mloop.step
def second(x: int) -> int:
    return helper(x)

@mloop.step
def third(x: int) -> int:
    return x - 1

@mloop.step
def aside(n: int) -> int:
    return n

@mloop.pipeline
def flow(n: int = 3):
    a = first(n)
    return {{"b": third(second(a)), "aside": aside(n)}}
"""


def _flow(folder: Path, name: str, first: int, helper: int):  # type: ignore[no-untyped-def]
    (folder / f"{name}.py").write_text(textwrap.dedent(CHANGED.format(first=first, helper=helper)))
    sys.modules.pop(name, None)
    return importlib.import_module(name).flow


def test_changing_one_steps_code_reruns_it_and_what_follows(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    before = _flow(tmp_path, "editable_flow", first=2, helper=10).run(client=client)
    assert before.output == {"b": 15, "aside": 3}
    after = _flow(tmp_path, "editable_flow", first=2, helper=20).run(client=client)  # a helper
    assert statuses(after) == {
        "first": "REUSED",
        "second": "DONE",
        "third": "DONE",
        "aside": "REUSED",
    }
    assert after.output == {"b": 25, "aside": 3}
    again = _flow(tmp_path, "editable_flow", first=5, helper=20).run(client=client)
    assert statuses(again) == {
        "first": "DONE",
        "second": "DONE",
        "third": "DONE",
        "aside": "REUSED",
    }


def test_retries_and_resume_after_a_failure(client: Client, tmp_path: Path) -> None:
    counter, stop = tmp_path / "calls.txt", tmp_path / "stop"
    stop.write_text("")
    with pytest.raises(PipelineFailed, match=r"(?s)step guarded failed.*stop file") as failed:
        flows.fragile.run({"counter": str(counter), "stop_file": str(stop)}, client=client)
    run = client.store.pipelines.get_run(failed.value.run_id)
    assert run.status.value == "FAILED" and "Traceback" in (run.error or "")
    steps = {s.node: s for s in client.store.pipelines.steps(run.id)}
    assert steps["flaky"].attempts == 3 and steps["flaky"].status is StepStatus.DONE
    assert steps["guarded"].status is StepStatus.FAILED and "RuntimeError" in steps["guarded"].error
    assert "total" not in steps
    stop.unlink()
    resumed = resume(run.id[:8], client=client)
    assert resumed.run.resumed_from == run.id and resumed.output == 100
    assert statuses(resumed) == {
        "load": "REUSED",
        "flaky": "REUSED",
        "guarded": "DONE",
        "total": "DONE",
    }
    assert counter.read_text() == "3"  # flaky was not called again


def test_definition_errors_name_the_file_and_line() -> None:
    here = Path(__file__).name
    with pytest.raises(
        DefinitionError, match=rf"{here}:\d+: total\(\): missing a required argument: 'b'"
    ):

        @mloop.pipeline
        def missing():  # type: ignore[no-untyped-def]
            return flows.total(1)

    with pytest.raises(
        DefinitionError,
        match=rf"{here}:\d+: train\(data=...\) takes DataFrame, but step rows_of returns dict",
    ):

        @mloop.pipeline
        def mismatch():  # type: ignore[no-untyped-def]
            return flows.train(flows.rows_of(flows.load(10, 0)), 1.0)

    with pytest.raises(
        DefinitionError,
        match=rf"{here}:\d+: the output of step load is only known when the pipeline runs",
    ):

        @mloop.pipeline
        def branching():  # type: ignore[no-untyped-def]
            data = flows.load(10, 0)
            if data.empty:
                return None
            return flows.features(data)

    with pytest.raises(DefinitionError, match="calls no step"):

        @mloop.pipeline
        def empty():  # type: ignore[no-untyped-def]
            return 1


@mloop.step
def leaky(n: int) -> object:
    return lambda: n  # a function: nothing can store it


@mloop.pipeline
def unsupported(n: int = 1):
    return leaky(n)


def test_bad_runs_are_refused_with_the_reason(client: Client) -> None:
    with pytest.raises(PipelineFailed, match="returned a function"):
        unsupported.run(client=client)
    with pytest.raises(InvalidArgument, match="has no parameter 'alpha'"):
        flows.training.run({"alpha": 1}, client=client)
    with pytest.raises(InvalidArgument, match="needs the parameter 'counter'"):
        flows.fragile.run({}, client=client)
    with pytest.raises(InvalidArgument, match="JSON value"):
        flows.training.run({"rows": np.int64(3)}, client=client)
    before = client.store.pipelines.list_runs()
    with pytest.raises(
        BackendUnavailable, match=re.escape("cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    ):
        flows.training.run(client=client, executor="tcp://127.0.0.1:9")
    with pytest.raises(InvalidArgument, match="unknown executor"):
        flows.training.run(client=client, executor="spark")
    assert client.store.pipelines.list_runs() == before  # nothing started


def test_outside_a_pipeline_a_step_is_its_function() -> None:
    frame = flows.load(5, 0)
    assert len(flows.features(frame)) == 5 and isinstance(unsupported, mloop.pipelines.Pipeline)
    assert flows.total(2, 3) == 5
    with pytest.raises(UnsupportedOutput.__mro__[1]):
        mloop.step(len)  # not a Python function


@pytest.mark.slow
def test_steps_in_their_own_processes_give_the_same_outputs(client: Client, tmp_path: Path) -> None:
    local = flows.training.run({"rows": 200}, client=client, cache=False)
    isolated = flows.training.run({"rows": 200}, client=client, cache=False, executor="subprocess")
    assert isolated.run.executor == "subprocess" and isolated.outputs == local.outputs
    stop = tmp_path / "stop"
    stop.write_text("")
    with pytest.raises(PipelineFailed, match="the stop file is there"):
        flows.fragile.run(
            {"counter": str(tmp_path / "n"), "stop_file": str(stop)},
            client=client,
            executor="subprocess",
        )
