"""`mloop drift` and `mloop monitor` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bikemodel import TARGET, Bikes, replay
from mloop.cli.app import app

runner = CliRunner()


@pytest.fixture
def cli(deployed: Bikes):  # type: ignore[no-untyped-def]
    settings = deployed.client.settings

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(
            app,
            ["--uri", settings.uri, "--blobs", str(settings.blobs), *args],
            env={"COLUMNS": "200", "NO_COLOR": "1"},
        )
        return result.exit_code, result.stdout + result.stderr

    return invoke


def test_july_2012_against_2011_flags_the_weather_and_the_demand(  # type: ignore[no-untyped-def]
    cli, bikes: pd.DataFrame, tmp_path: Path
) -> None:
    dates = pd.to_datetime(bikes["dteday"])
    year_2011 = tmp_path / "2011.parquet"
    bikes[dates.dt.year == 2011].drop(columns="dteday").to_parquet(year_2011)
    july = tmp_path / "july-2012.csv"
    bikes[(dates.dt.year == 2012) & (dates.dt.month == 7)].drop(columns="dteday").to_csv(
        july, index=False
    )
    assert cli("data", "add", str(year_2011), "--name", "bikes-2011")[0] == 0
    report = tmp_path / "july.html"
    code, out = cli(
        "drift", "bikes-2011@1", str(july), "--json", "--fail-on-drift", "--report", str(report)
    )
    assert code == 9, out
    result = json.loads(out)
    drifted = {f["column"] for f in result["features"] if f["drifted"]}
    # July's weather (clearer skies too) and demand moved; the calendar did not
    weather = {"season", "weathersit", "temp", "atemp", "hum", "windspeed"}
    assert drifted == weather | {"casual", "registered", "cnt"}
    assert result["drifted"] and "temp" in report.read_text()
    code, out = cli("drift", "bikes-2011@1", str(july), "--columns", "hr,weekday,holiday")
    assert code == 0 and "no dataset drift: 0 of 3 columns" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["drift", "bikes@1", "nowhere.csv"], "no such file or folder nowhere.csv"),
        (["drift", "bikes@1", "bikes@1", "--columns", "colour"], "no column 'colour'"),
        (["drift", "bikes@1", "bikes@1", "--method", "zscore"], "unknown drift test"),
        (["drift", "bikes@1", "bikes@1", "--report", "r.pdf"], ".html"),
        (["drift", "nope@1", "bikes@1"], "nope"),
    ],
)
def test_bad_drift_commands_say_why(cli, args: list[str], words: str) -> None:  # type: ignore[no-untyped-def]
    code, out = cli(*args)
    assert code != 0 and words in out


def test_monitor_commands(cli, deployed: Bikes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out = cli(
        "monitor",
        "create",
        "bikes-drift",
        "--deployment",
        "bikes-api",
        "--reference",
        "bikes@1",
        "--window",
        "1000rows",
        "--target",
        TARGET,
        "--threshold",
        "wasserstein=0.15",
    )
    assert code == 0 and "Created monitor bikes-drift" in out, out
    code, out = cli("monitor", "status", "bikes-drift")
    assert "No window computed yet" in out
    replay(deployed, deployed.later.iloc[5000:7000])
    code, out = cli("monitor", "run", "bikes-drift", "--fail-on-drift")
    assert code == 9 and "Computed 2 window(s)" in out and "decay" in out, out
    code, out = cli("monitor", "run", "bikes-drift", "--fail-on-drift")
    assert code == 0 and "No new complete window" in out
    code, out = cli("monitor", "status", "bikes-drift")
    assert "DRIFT" in out and "drifted: " in out and "temp" in out and "mae" in out
    report = tmp_path / "r.html"
    code, out = cli("monitor", "report", "bikes-drift", "-o", str(report))
    assert code == 0 and report.read_text().startswith("<!doctype html>")
    code, out = cli("monitor", "events", "bikes-drift", "--json")
    assert [e["kind"] for e in json.loads(out)] == ["drift", "decay"] * 2
    code, out = cli("monitor", "list")
    assert "bikes-drift" in out and "1000rows" in out
    code, out = cli(
        "monitor",
        "create",
        "x",
        "--deployment",
        "bikes-api",
        "--reference",
        "bikes@1",
        "--threshold",
        "wasserstein",
    )
    assert code != 0 and "TEST=NUMBER" in out
