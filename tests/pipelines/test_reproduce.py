"""`mloop runs reproduce`: a seeded pipeline run again from its commit gives the same outputs."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mloop.cli.app import app

runner = CliRunner()

FLOW = """
import numpy as np
import mloop


@mloop.step
def sample(seed: int, n: int) -> list:
    return np.random.default_rng(seed).normal(size=n).round(6).tolist()


@mloop.step
def mean(values: list) -> float:
    value = round(float(np.mean(values)), 6)
    mloop.log_metric("mean", value)  # a step logs to its own step run
    return value


@mloop.step
def noisy(values: list) -> int:
    mloop.log_metric("noise", float(np.random.default_rng().random()))  # not seeded
    return len(values)


@mloop.pipeline
def unseeded(n: int = 10):
    return noisy(sample(1, n))


@mloop.pipeline
def experiment(seed: int = 7, n: int = 1000):
    return mean(sample(seed, n))
"""


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout + result.stderr


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


@pytest.mark.slow
def test_a_seeded_run_reproduces_from_its_commit(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workspace / "seeded.py").write_text(textwrap.dedent(FLOW))
    (workspace / ".gitignore").write_text(".mloop/\n")
    git(workspace, "init", "-q")
    git(workspace, "add", ".")
    git(workspace, "commit", "-q", "-m", "seeded experiment")
    monkeypatch.syspath_prepend(str(workspace))
    code, out = cli("pipeline", "run", "seeded:experiment", "--param", "seed=11", "--json")
    assert code == 0, out
    original = json.loads(out)["run"]
    (workspace / "seeded.py").write_text(
        textwrap.dedent(FLOW).replace("mean(values)", "mean(values) + 1")
    )
    code, out = cli("runs", "reproduce", original[:10])
    assert code == 0, out
    assert "every output is identical" in out and "mean:" in out and "(the original had" not in out
    code, out = cli("runs", "reproduce", original[:10], "--json")
    result = json.loads(out)
    assert result["original"] == original and result["again"] != original
    assert [s["same"] for s in result["steps"]] == [True, True]


def test_a_run_outside_git_cannot_be_reproduced(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workspace / "seeded2.py").write_text(textwrap.dedent(FLOW))
    monkeypatch.syspath_prepend(str(workspace))
    code, out = cli("pipeline", "run", "seeded2:experiment", "--json")
    assert code == 0, out
    run = json.loads(out)["run"]
    code, out = cli("runs", "reproduce", run[:10])
    assert code == 2 and "recorded no git commit" in out
    code, out = cli("runs", "reproduce", "nothing-like-this")
    assert code != 0


@pytest.mark.slow
def test_a_metric_that_changes_when_run_again_is_reported(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workspace / "noisy.py").write_text(textwrap.dedent(FLOW))
    (workspace / ".gitignore").write_text(".mloop/\n")
    git(workspace, "init", "-q")
    git(workspace, "add", ".")
    git(workspace, "commit", "-q", "-m", "unseeded")
    monkeypatch.syspath_prepend(str(workspace))
    code, out = cli("pipeline", "run", "noisy:unseeded", "--json")
    assert code == 0, out
    code, out = cli("runs", "reproduce", json.loads(out)["run"][:10], "--json")
    assert code == 9, out
    steps = {s["node"]: s for s in json.loads(out)["steps"]}
    assert steps["sample"]["same"] and not steps["noisy"]["same"]
    assert steps["noisy"]["original"] == steps["noisy"]["again"]  # same output, other metric
    assert steps["noisy"]["detail"].startswith("noise ")
