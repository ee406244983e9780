"""``mloop models``: the registry from the command line, as a release script would use it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import mloop
from mloop.cli.app import app

runner = CliRunner()


def mloop_cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    code, out, err = mloop_cli(*args)
    assert code == 0, err
    return out


@pytest.fixture
def runs(workspace: Path, cancer: tuple[pd.DataFrame, pd.Series]) -> list[str]:
    X, y = cancer
    ids = []
    for c in (0.01, 1.0):
        with mloop.start_run(experiment="cancer", capture_env=False) as run:
            mloop.log_params({"C": c})
            mloop.log_metric("auc", 0.9 + c / 100)
            mloop.models.log(LogisticRegression(C=c, max_iter=3000).fit(X, y))
        ids.append(run.id)
    return ids


def test_register_promote_roll_back_and_read_the_history(runs: list[str]) -> None:
    assert "Registered models:/cancer/1 (sklearn)" in ok(
        "models", "register", runs[0], "--name", "cancer", "-t", "team=bio"
    )
    ok("models", "register", f"runs:/{runs[1]}/model", "--name", "cancer", "-d", "C=1")
    ok("models", "promote", "cancer/1", "-r", "first")
    ok("models", "alias", "cancer/2", "challenger")
    assert "version 2 (was 1)" in ok("models", "promote", "cancer@challenger", "-r", "better")
    assert "version 1 (was 2): rollback" in ok("models", "rollback", "cancer", "-r", "bad")

    history = ok("models", "history", "cancer", "--alias", "champion")
    assert [line.split()[3] for line in history.splitlines()[1:]] == ["1", "2", "1"]
    assert "better" in history and "challenger" not in history
    shown = json.loads(ok("models", "show", "cancer", "--json"))
    assert shown["model"]["aliases"] == {"champion": 1, "challenger": 2}
    assert [v["version"] for v in shown["versions"]] == [2, 1]
    assert "C=0.01" in ok("models", "lineage", "cancer@champion")
    listed = ok("models", "list")
    assert "cancer" in listed and "@champion=1" in listed


def test_search_update_archive_restore(runs: list[str]) -> None:
    for run in runs:
        ok("models", "register", run, "--name", "cancer")
    ok("models", "update", "cancer/2", "-t", "stage=candidate", "-d", "the wider one")
    found = json.loads(ok("models", "search", "--metric", "auc>=0.905", "--json"))
    assert [v["uri"] for v in found] == ["models:/cancer/2"]
    found = json.loads(ok("models", "search", "-t", "stage=candidate", "--json"))
    assert [v["description"] for v in found] == ["the wider one"]
    ok("models", "archive", "cancer/2")
    assert json.loads(ok("models", "show", "cancer/2", "--json"))["status"] == "ARCHIVED"
    code, _, err = mloop_cli("models", "promote", "cancer/2")
    assert code == 5 and "archived" in err
    ok("models", "restore", "cancer/2")
    ok("models", "promote", "cancer/2")


def test_card_and_dockerfile_for_an_alias(runs: list[str], workspace: Path) -> None:
    ok("models", "register", runs[0], "--name", "cancer")
    ok("models", "promote", "cancer/1")
    ok("models", "card", "cancer@champion", "-o", "card.html", "--limitations", "Not for men.")
    page = (workspace / "card.html").read_text()
    assert "Not for men." in page and "Not stated by the owner." in page
    markdown = ok("models", "card", "cancer/1")
    assert "Not for men." in markdown  # the text given once is kept on the version
    ok("models", "dockerfile", "models:/cancer@champion", "ctx")
    assert (workspace / "ctx" / "Dockerfile").is_file()


def test_mistakes_are_one_line_with_an_exit_code_and_change_nothing(runs: list[str]) -> None:
    ok("models", "register", runs[0], "--name", "cancer")
    ok("models", "promote", "cancer/1")
    before = ok("models", "history", "cancer", "--json"), ok("models", "show", "cancer", "--json")
    for args, code, message in [
        (("models", "show", "cancr"), 3, "no registered model named 'cancr'"),
        (("models", "show", "cancer/7"), 3, "has no version 7: its versions are 1 to 1"),
        (("models", "promote", "cancer/3"), 3, "has no version 3"),
        (("models", "alias", "cancer/2", "challenger"), 3, "has no version 2"),
        (("models", "rollback", "cancer"), 5, "no earlier version"),
        (("models", "register", "runs:/ffffffff/model", "--name", "cancer"), 3, "ffffffff"),
        (("models", "history", "cancer", "--at", "yesterday-ish"), 2, "yesterday-ish"),
        (("models", "register", runs[1], "--name", "cancer", "-t", "oops"), 2, "KEY=VALUE"),
        (("models", "archive", "cancer/1"), 5, "@champion"),
    ]:
        got, _, err = mloop_cli(*args)
        assert (got, err.count("\n")) == (code, 1), (args, err)
        assert message in err, (args, err)
    after = ok("models", "history", "cancer", "--json"), ok("models", "show", "cancer", "--json")
    assert after == before
