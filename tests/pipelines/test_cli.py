"""`mloop pipeline` from the command line, and its store on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mloop.cli.app import app
from mloop.errors import InvalidArgument, NotFound
from mloop.store import NewStepRun, PipelineRun, PipelineStatus, StepStatus, open_store
from mloop.tracking.client import Client

runner = CliRunner()


def test_run_list_show_and_resume(workspace: Path, tmp_path: Path) -> None:
    def cli(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
        return result.exit_code, result.stdout + result.stderr

    code, out = cli("pipeline", "run", "flows:training", "--param", "rows=120", "-p", "c=0.5")
    assert code == 0 and "5 steps, 0 reused" in out and "● train  ← features" in out, out
    code, out = cli("pipeline", "run", "flows:training", "--param", "rows=120", "-p", "c=0.5")
    assert "5 steps, 5 reused" in out and "○ accuracy" in out
    stop = tmp_path / "stop"
    stop.write_text("")
    code, out = cli(
        "pipeline",
        "run",
        "flows:fragile",
        "-p",
        f"counter={tmp_path / 'n'}",
        "-p",
        f"stop_file={stop}",
    )
    assert code != 0 and "the stop file is there" in out and "mloop pipeline resume" in out
    failed = out.split("mloop pipeline resume ")[1].split()[0]
    code, out = cli("pipeline", "show", failed)
    assert "FAILED" in out and "✗ guarded" in out and "· total" in out
    stop.unlink()
    code, out = cli("pipeline", "resume", failed, "--json")
    assert code == 0 and {s["status"] for s in json.loads(out)["steps"]} == {"REUSED", "DONE"}
    code, out = cli("pipeline", "list", "--json")
    assert [r["status"] for r in json.loads(out)][:2] == ["FINISHED", "FAILED"]
    for args, words in (
        (["pipeline", "run", "flows"], "module:function"),
        (["pipeline", "run", "nosuchmodule:x"], "cannot import"),
        (["pipeline", "run", "flows:load"], "not an @mloop.pipeline"),
        (["pipeline", "run", "flows:training", "-p", "rows"], "NAME=VALUE"),
        (["pipeline", "show", "zzzz"], "no pipeline run zzzz"),
    ):
        code, out = cli(*args)
        assert code != 0 and words in out, (args, out)


def test_the_pipeline_store(store_uri: str, tmp_path: Path) -> None:
    with Client(store_uri, blobs=str(tmp_path / "b")) as client:
        parent = client.create_run(capture_env=False)
    store = open_store(store_uri)
    try:
        run = store.pipelines.create_run(
            PipelineRun(
                "a" * 32,
                "flows:training",
                "{}",
                PipelineStatus.RUNNING,
                "local",
                parent.id,
                "ada",
                1,
                None,
                None,
                None,
            )
        )
        key = "c" * 64
        step = store.pipelines.record_step(
            run.id,
            NewStepRun(
                "load", "flows:load", key, StepStatus.FAILED, "null", None, 1, 1, 2, error="boom"
            ),
        )
        assert store.pipelines.cached(key) is None  # a failure is never reused
        again = store.pipelines.record_step(
            run.id,
            NewStepRun(
                "load",
                "flows:load",
                key,
                StepStatus.DONE,
                '{"kind": "json", "digest": "' + "d" * 64 + '"}',
                None,
                2,
                3,
                4,
            ),
        )
        assert again.id == step.id and store.pipelines.cached(key) == again
        store.pipelines.finish_run(run.id, PipelineStatus.FINISHED, 5)
        assert store.pipelines.get_run("aaaa").status is PipelineStatus.FINISHED
        assert store.pipelines.blob_references() == ({"d" * 64}, set())
        with pytest.raises(InvalidArgument, match="at least 4"):
            store.pipelines.get_run("a")
        with pytest.raises(NotFound):
            store.pipelines.finish_run("b" * 32, PipelineStatus.FAILED, 6)
        with pytest.raises(InvalidArgument, match="cache key"):
            store.pipelines.record_step(
                run.id, NewStepRun("x", "m:x", "nope", StepStatus.DONE, "{}", None, 1, 1, 1)
            )
        assert [s.node for s in store.pipelines.steps(run.id)] == ["load"]
    finally:
        store.close()
