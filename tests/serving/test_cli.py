"""`mloop deploy`, `mloop predict` and `mloop predictions` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mloop.cli.app import app
from mloop.models import load
from mloop.serving import predictions
from servers import Registered, serving

runner = CliRunner()


@pytest.fixture
def cli(registered: Registered):  # type: ignore[no-untyped-def]
    settings = registered.client.settings

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(
            app,
            ["--uri", settings.uri, "--blobs", str(settings.blobs), *args],
            env={"COLUMNS": "200", "NO_COLOR": "1"},
        )
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_deploy_create_set_rollback_history(cli, registered: Registered) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("deploy", "create", "bc-api", "--model", "models:/bc@champion")
    assert code == 0, err
    assert "Created deployment bc-api" in out and "mloop serve bc-api" in out
    code, out, err = cli(
        "deploy",
        "set",
        "bc-api",
        "--route",
        "models:/bc@champion=90",
        "--route",
        "models:/bc@challenger=10",
        "--shadow",
        "models:/bc/2",
        "-r",
        "canary",
    )
    assert code == 0, err
    assert "revision 2" in out and "models:/bc@challenger 10%" in out and "shadow" in out
    code, out, err = cli("deploy", "rollback", "bc-api", "-r", "too slow")
    assert code == 0 and "revision 3: models:/bc@champion" in out, err
    code, out, _ = cli("deploy", "history", "bc-api")
    assert "rollback → 1" in out and "too slow" in out and "canary" in out
    code, out, _ = cli("deploy", "list", "--json")
    listed = json.loads(out)
    assert listed[0]["name"] == "bc-api" and listed[0]["revision"]["number"] == 3


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["deploy", "create", "x"], "--model"),
        (["deploy", "create", "x", "--model", "models:/bc/7"], "no version 7"),
        (["deploy", "set", "bc-api", "--route", "models:/bc/1=50"], "add up to 50%"),
        (["deploy", "set", "ghost", "--route", "models:/bc/1"], "no deployment named 'ghost'"),
        (["deploy", "rollback", "bc-api"], "nothing to roll back to"),
        (["deploy", "history", "ghost"], "no deployment"),
    ],
)
def test_bad_deploy_commands_say_why_and_change_nothing(  # type: ignore[no-untyped-def]
    cli, registered: Registered, args: list[str], words: str
) -> None:
    assert cli("deploy", "create", "bc-api", "--model", "models:/bc/1")[0] == 0
    code, out, err = cli(*args)
    assert code != 0 and words in out + err
    assert [d.revision.number for d in registered.client.store.deployments.list_all()] == [1]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_scores_a_file_in_chunks(  # type: ignore[no-untyped-def]
    cli, registered: Registered, tmp_path: Path, suffix: str
) -> None:
    X = registered.X.assign(customer=np.arange(len(registered.X)))
    source = tmp_path / f"in{suffix}"
    X.to_csv(source, index=False) if suffix == ".csv" else X.to_parquet(source)
    output = tmp_path / f"out{suffix}"
    code, out, err = cli(
        "predict",
        "models:/bc@champion",
        str(source),
        "-o",
        str(output),
        "--chunk-rows",
        "100",
        "--log",
    )
    assert code == 0, err
    assert f"Scored {len(X):,} rows with models:/bc/1" in out
    scored = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    model = load("models:/bc/1", client=registered.client)
    assert scored["customer"].tolist() == X["customer"].tolist()
    assert scored["prediction"].tolist() == model.predict(registered.X).tolist()
    np.testing.assert_allclose(scored["proba.1"], model.predict_proba(registered.X)[:, 1])
    logged = predictions(client=registered.client)
    assert len(logged) == len(X) and logged["request_id"].nunique() == 6  # 569 rows by 100


def test_predict_refuses_bad_files_and_writes_nothing(  # type: ignore[no-untyped-def]
    cli, registered: Registered, tmp_path: Path
) -> None:
    good = tmp_path / "in.csv"
    registered.X.head(5).to_csv(good, index=False)
    broken = tmp_path / "broken.csv"
    registered.X.head(5).drop(columns=["mean radius"]).to_csv(broken, index=False)
    cases = [
        ([str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.csv")], "no input file"),
        ([str(good), "-o", str(tmp_path / "o.json")], ".csv or .parquet"),
        ([str(good), "-o", str(good)], "overwrite the input"),
        ([str(broken), "-o", str(tmp_path / "o.csv")], "mean radius"),
    ]
    for args, words in cases:
        code, out, err = cli("predict", "models:/bc/1", *args)
        assert code != 0 and words in out + err, out + err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("o.", ".o"))) == []
    assert good.read_text().count("\n") == 6


def test_predictions_show_summarises_traffic_and_labels(  # type: ignore[no-untyped-def]
    cli, registered: Registered, tmp_path: Path
) -> None:
    cli("deploy", "create", "bc-api", "--model", "models:/bc/1", "--shadow", "models:/bc/2")
    X, y = registered.X, registered.y
    with serving(registered.client, "bc-api") as server:
        for i in range(10):
            rid = server.predict(X.iloc[[i]]).json()["request_id"]
            server.http.post("/feedback", json={"request_id": rid, "label": int(y[i])})
    code, out, err = cli(
        "predictions", "show", "bc-api", "--since", "1h", "--export", str(tmp_path / "rows.parquet")
    )
    assert code == 0, err
    assert "10 predictions in 10 requests for deployment bc-api" in out
    assert "models:/bc/1" in out and "100.0%" in out
    assert "shadow models:/bc/2: 10 rows scored" in out
    assert len(pd.read_parquet(tmp_path / "rows.parquet")) == 10
    code, out, _ = cli("predictions", "show", "--json", "--since", "0")
    summary = json.loads(out)
    assert summary["models"][0]["labelled"] == 10 and summary["models"][0]["agreement"] == 1.0
    code, out, err = cli("predictions", "show", "--since", "soon")
    assert code != 0 and "not a duration" in out + err
