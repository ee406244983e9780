"""`mloop ci check`: data validation and a model gate, as a CI job runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import mloop
from mloop.cli.app import app

runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout + result.stderr


def test_ci_check_passes_good_data_and_a_better_model(workspace: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    train, holdout = frame.iloc[::2], frame.iloc[1::2]
    mloop.data.add(train, "cancer")
    mloop.data.add(holdout, "cancer-holdout")
    versions = []
    for c in (0.0001, 1.0):
        with mloop.start_run(capture_env=False):
            model = LogisticRegression(C=c, max_iter=5000).fit(
                train.drop(columns="target"), train["target"]
            )
            info = mloop.models.log(model, input_example=train.drop(columns="target").head(2))
        versions.append(mloop.registry.register(info, "cancer").uri)
    mloop.registry.promote(versions[0])
    good, broken = Path("good.csv"), Path("broken.csv")
    holdout.to_csv(good, index=False)
    holdout.drop(columns=["mean radius"]).to_csv(broken, index=False)

    gate = [
        "--eval-data",
        "cancer-holdout@1",
        "--target",
        "target",
        "--baseline",
        "models:/cancer@champion",
        "--gate",
        "roc_auc>=+0.001",
    ]
    code, out = cli(
        "ci",
        "check",
        "--data",
        "./good.csv",
        "--reference",
        "cancer@1",
        "--model",
        versions[1],
        *gate,
    )
    assert code == 0, out
    assert "data ./good.csv: passed" in out and f"model {versions[1]}: passed" in out
    code, out = cli("ci", "check", "--data", "./broken.csv", "--reference", "cancer@1", "--json")
    assert code == 9 and json.loads(out)["passed"] is False
    assert "mean radius" in json.dumps(json.loads(out)["data"])
    code, out = cli("ci", "check", "--model", versions[0], *gate[:6], "--gate", "accuracy>=0.99")
    assert code == 9 and "failed" in out
    for args, words in (
        (["ci", "check"], "nothing to check"),
        (["ci", "check", "--model", versions[1]], "--eval-data"),
    ):
        code, out = cli(*args)
        assert code == 2 and words in out
    assert len(pd.read_csv(good)) == len(holdout)
