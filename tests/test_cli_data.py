"""``mloop data`` as a user drives it, on the real bike-sharing data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import mloop
from mloop.cli import app

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def bike_files(workspace: Path, bikes: pd.DataFrame) -> tuple[Path, Path]:
    """2011 as one CSV, 2011 + 2012 as another: two versions of a growing data set."""
    first, both = workspace / "v1" / "bikes.csv", workspace / "v2" / "bikes.csv"
    first.parent.mkdir()
    both.parent.mkdir()
    bikes[bikes["dteday"] < "2012-01-01"].to_csv(first, index=False)
    bikes.to_csv(both, index=False)
    return first, both


def test_add_list_show_diff_on_real_data(bike_files: tuple[Path, Path]) -> None:
    first, both = bike_files
    code, out, _ = cli("data", "add", str(first), "--name", "bikes", "-m", "2011")
    assert code == 0 and "Added bikes@1" in out and "8,645 rows" in out
    code, out, _ = cli("data", "add", str(first), "--name", "bikes")
    assert code == 0 and "Unchanged: identical to bikes@1" in out
    code, out, _ = cli("data", "add", str(both), "--name", "bikes", "--tag", "years=2011-2012")
    assert code == 0 and "Added bikes@2" in out and "17,379 rows" in out

    code, out, _ = cli("data", "list")
    assert code == 0 and "bikes" in out and "17,379 rows" in out
    code, out, _ = cli("data", "show", "bikes@1")
    assert code == 0 and "8,645 rows" in out and "weathersit" in out and "2011" in out
    code, out, _ = cli("data", "show", "bikes", "--json")
    shown = json.loads(out)
    assert shown["version"]["version"] == 2 and shown["version"]["tags"] == {"years": "2011-2012"}
    assert shown["profile"]["rows"] == 17_379

    code, out, _ = cli("data", "diff", "bikes@1", "bikes@2")
    assert code == 0 and "8,645 → 17,379" in out and "~ bikes.csv" in out
    code, out, _ = cli("data", "diff", "bikes@1", "bikes@2", "--json")
    diff = json.loads(out)
    assert [c["path"] for c in diff["changed"]] == ["bikes.csv"]
    assert diff["tables"]["new_rows"] == 17_379
    moved = {c["column"] for c in diff["tables"]["changes"]}
    assert {"cnt", "registered"} <= moved  # 2012 had far more riders


def test_validate_gates_ci_with_the_exit_code(
    bike_files: tuple[Path, Path], workspace: Path
) -> None:
    first, both = bike_files
    cli("data", "add", str(first), "--name", "bikes")
    code, schema, _ = cli("data", "schema", "infer", "bikes@1")
    assert code == 0 and "cnt" in schema
    (workspace / "schema.yaml").write_text(schema)
    code, out, _ = cli("data", "schema", "set", "bikes", str(workspace / "schema.yaml"))
    assert code == 0
    code, out, _ = cli("data", "schema", "show", "bikes")
    assert code == 0 and "cnt" in out

    code, out, _ = cli("data", "validate", "bikes@1")
    assert code == 0 and "no anomalies" in out
    code, out, _ = cli("data", "validate", str(both), "--dataset", "bikes", "--json")
    report = json.loads(out)
    assert code == 9 and not report["passed"]
    out_of_range = {a["column"] for a in report["anomalies"] if a["kind"] == "out_of_range"}
    assert "cnt" in out_of_range  # 2012's busiest hours beat 2011's maximum

    broken = pd.read_csv(first).drop(columns=["hum"]).head(100)
    broken.to_csv(workspace / "broken.csv", index=False)
    code, out, _ = cli("data", "validate", str(workspace / "broken.csv"), "-r", "bikes@1")
    assert code == 9 and "missing column" in out and "hum" in out and "row count" in out
    code, out, _ = cli(
        "data", "validate", str(workspace / "broken.csv"), "-r", "bikes@1", "--min-row-ratio", "0"
    )
    assert code == 9 and "row count" not in out

    code, out, _ = cli("data", "validate", str(both.parent), "-r", "bikes@1")  # a local folder
    assert code == 0 and "passed" in out and "17,379 rows" in out
    code, _, err = cli("data", "validate", "missing.csv", "--dataset", "bikes")
    assert code == 3 and "no such file or folder" in err
    code, _, err = cli("data", "validate", "bikes@1", "--dataset", "bikes")
    assert code == 2 and "names a version" in err
    code, _, err = cli("data", "validate", str(both))
    assert code == 2 and "--dataset" in err


def test_checkout_and_runs_show_lineage(bike_files: tuple[Path, Path], workspace: Path) -> None:
    first, _ = bike_files
    cli("data", "add", str(first.parent), "--name", "bikes")
    code, out, _ = cli("data", "checkout", "bikes@1", str(workspace / "out"))
    assert code == 0 and (workspace / "out" / "bikes.csv").read_bytes() == first.read_bytes()
    code, _, err = cli("data", "checkout", "bikes@1", str(workspace / "out"))
    assert code == 5 and "not empty" in err

    with mloop.start_run(name="train", capture_env=False) as run:
        frame = mloop.data.get("bikes@1", role="train")
        assert isinstance(frame, pd.DataFrame) and len(frame) == 8_645
        mloop.log_input("bikes@1", role="reference")
    code, out, _ = cli("runs", "show", run.id[:8])
    assert code == 0 and "bikes@1  train" in out and "bikes@1  reference" in out
    code, out, _ = cli("data", "show", "bikes@1")
    assert code == 0 and run.id in out and "train" in out


def test_a_checkout_is_independent_of_the_store_unless_linked(
    bike_files: tuple[Path, Path], workspace: Path
) -> None:
    first, _ = bike_files
    cli("data", "add", str(first.parent), "--name", "bikes")
    code, _, _ = cli("data", "checkout", "bikes@1", str(workspace / "out"))
    assert code == 0
    with open(workspace / "out" / "bikes.csv", "a") as file:  # as root: no read-only guard
        file.write("9999,garbage\n")
    code, _, err = cli("data", "checkout", "bikes@1", str(workspace / "again"))
    assert code == 0, err
    assert (workspace / "again" / "bikes.csv").read_bytes() == first.read_bytes()
    code, _, _ = cli("data", "checkout", "bikes@1", str(workspace / "linked"), "--link")
    linked = workspace / "linked" / "bikes.csv"
    assert code == 0 and linked.stat().st_nlink > 1 and linked.read_bytes() == first.read_bytes()


def test_bad_input_is_one_line_with_an_exit_code(workspace: Path) -> None:
    code, _, err = cli("data", "add", "missing.csv", "--name", "x")
    assert code == 3 and "no such file or folder" in err
    (workspace / "bad.csv").write_text("a,b\n1,2\n3,4,5\n")
    code, _, err = cli("data", "add", "bad.csv", "--name", "x")
    assert code == 2 and "line 3" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("data", "show", "x")
    assert code == 3 and "no dataset named 'x'" in err
    code, _, err = cli("data", "add", "bad.csv", "--name", "x", "--tag", "novalue")
    assert code == 2 and "KEY=VALUE" in err
    code, _, err = cli("data", "validate", "nope@1")
    assert code == 3
    code, _, err = cli("data", "schema", "show", "x")
    assert code == 3


@pytest.mark.parametrize("target", ["folder", "folder/caf\udce9.csv", "caf\udce9"])
def test_a_file_name_that_is_not_utf8_is_named_in_a_clear_error(
    workspace: Path, target: str
) -> None:
    """A file or folder whose name is not UTF-8 (latin-1 'café' from an old archive, which
    Python names caf\\udce9) cannot be stored under its name: refused with an error that
    names it, and nothing stored."""
    for folder in ("folder", os.fsdecode(b"caf\xe9")):
        (workspace / folder).mkdir()
        (workspace / folder / "ok.csv").write_text("a\n1\n")
    (workspace / os.fsdecode(b"folder/caf\xe9.csv")).write_text("a\n2\n")
    code, _, err = cli("data", "add", target, "--name", "latin")
    assert code == 2, err
    assert "caf\\xe9" in err and "UTF-8" in err and len(err.strip().splitlines()) == 1
    assert cli("data", "list")[1].strip().startswith("No datasets yet")


def _as_unprivileged(args: list[str]) -> list[str]:
    """Run ``args`` without root's power to read any file (as CI runs as root)."""
    if os.geteuid() != 0:
        return args
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root, these tests need setpriv (util-linux) to drop privileges")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *args]


@pytest.mark.parametrize("target", ["secret.csv", "folder"])
def test_an_unreadable_file_is_refused_and_nothing_is_stored(workspace: Path, target: str) -> None:
    (workspace / "secret.csv").write_text("a,b\n1,2\n")
    (workspace / "folder").mkdir()
    (workspace / "folder" / "ok.txt").write_text("fine")
    (workspace / "folder" / "locked.bin").write_bytes(b"private")
    for path in (workspace / "secret.csv", workspace / "folder" / "locked.bin"):
        path.chmod(0o000)
    mloop_bin = str(Path(sys.executable).parent / "mloop")
    done = subprocess.run(
        _as_unprivileged([mloop_bin, "data", "add", target, "--name", "private"]),
        capture_output=True,
        text=True,
        check=False,
        cwd=workspace,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 6, done.stderr
    assert "permission denied" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    code, out, _ = cli("data", "list")
    assert code == 0 and "No datasets yet" in out


def test_gc_keeps_every_blob_a_dataset_version_needs(workspace: Path) -> None:
    (workspace / "t.csv").write_text("a,b\n1,x\n2,y\n")
    version = mloop.data.add(workspace / "t.csv", "t").version
    assert version.profile is not None
    mloop.data.add(pd.DataFrame({"a": [1]}), "frame")
    code, out, _ = cli("gc", "--delete", "--min-age", "0")
    assert code == 0 and "Nothing to collect" in out
    assert mloop.data.checkout("t@1", workspace / "out").joinpath("t.csv").read_text() == (
        "a,b\n1,x\n2,y\n"
    )
    frame = mloop.data.get("frame")
    assert isinstance(frame, pd.DataFrame) and frame["a"].tolist() == [1]
    assert mloop.data.data_client().profile("t") is not None
