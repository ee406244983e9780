"""The command line as a user drives it: output, exit codes, and help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mloop
from mloop.cli import app
from mloop.tracking.client import Client

runner = CliRunner()


def mloop_cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def two_runs(workspace: Path) -> list[str]:
    ids = []
    for lr, acc in (("0.1", 0.8), ("0.01", 0.9)):
        with mloop.start_run(experiment="cli", name=f"lr-{lr}", capture_env=False) as run:
            mloop.log_params({"lr": lr, "depth": 3})
            mloop.log_metric("acc", acc)
        ids.append(run.id)
    return ids


def test_runs_list_filters_orders_and_prints_json(two_runs: list[str]) -> None:
    code, out, _ = mloop_cli("runs", "list")
    assert code == 0 and "lr-0.1" in out and "lr-0.01" in out
    code, out, _ = mloop_cli(
        "runs",
        "list",
        "-f",
        "metrics.acc > 0.85 OR params.lr = '0.5'",
        "-c",
        "name,params.lr,metrics.acc",
    )
    assert code == 0 and "lr-0.01" in out and "lr-0.1 " not in out
    code, out, _ = mloop_cli("runs", "list", "--json", "-o", "metrics.acc ASC")
    rows = json.loads(out)["runs"]
    assert [r["name"] for r in rows] == ["lr-0.1", "lr-0.01"]
    assert rows[0]["params"] == {"lr": "0.1", "depth": "3"}


def test_runs_show_by_prefix(two_runs: list[str]) -> None:
    code, out, _ = mloop_cli("runs", "show", two_runs[0][:6])
    assert code == 0 and two_runs[0] in out and "lr" in out and "0.8" in out


def test_runs_compare_marks_differences(two_runs: list[str]) -> None:
    code, out, _ = mloop_cli("runs", "compare", *two_runs)
    assert code == 0
    lines = {
        line.split()[0]: line
        for line in out.splitlines()
        if line.strip().startswith(("params", "metrics"))
    }
    assert "≠" in lines["params.lr"] and "≠" not in lines["params.depth"]
    data = json.loads(mloop_cli("runs", "compare", *two_runs, "--json")[1])
    assert {r["key"]: r["differs"] for r in data["rows"]} == {
        "params.depth": False,
        "params.lr": True,
        "metrics.acc": True,
    }


def test_runs_note_records_outcome(two_runs: list[str]) -> None:
    code, _, _ = mloop_cli("runs", "note", two_runs[1], "lower lr helped", "--outcome", "worked")
    assert code == 0
    notes = Client().list_notes(two_runs[1])
    assert [(n.text, n.outcome and n.outcome.value) for n in notes] == [
        ("lower lr helped", "worked")
    ]
    code, _, err = mloop_cli("runs", "note", two_runs[1], "x", "--outcome", "maybe")
    assert code == 2 and "maybe" in err


def test_experiments_list(two_runs: list[str]) -> None:
    data = json.loads(mloop_cli("experiments", "list", "--json")[1])
    assert [(d["experiment"]["name"], d["run_count"]) for d in data] == [("cli", 2)]


def test_artifacts_get_and_gc(workspace: Path) -> None:
    (workspace / "weights.bin").write_bytes(b"w" * 4096)
    with mloop.start_run(capture_env=False) as run:
        mloop.log_artifact(workspace / "weights.bin")
    code, _, _ = mloop_cli(
        "artifacts", "get", run.id[:8], "weights.bin", str(workspace / "copy.bin")
    )
    assert code == 0 and (workspace / "copy.bin").read_bytes() == b"w" * 4096
    orphan = Client().blobs.put_bytes(b"nobody refers to me")
    code, out, _ = mloop_cli("gc")
    assert code == 0 and "Kept 1 unreferenced blob younger than 1h" in out
    code, out, _ = mloop_cli("gc", "--min-age", "0", "--json")
    report = json.loads(out)
    assert report["unreferenced"] == [str(orphan)] and report["deleted"] is False
    assert Client().blobs.exists([orphan]) == {orphan}  # a dry run deletes nothing
    code, out, _ = mloop_cli("gc", "--min-age", "0", "--delete")
    assert code == 0 and "Deleted 1 unreferenced blob (" in out
    assert Client().blobs.exists([orphan]) == set()
    target = str(workspace / "again.bin")
    code, _, _ = mloop_cli("artifacts", "get", run.id[:8], "weights.bin", target)
    assert code == 0  # everything referenced survived
    for bad in ("soon", "nand", "1e9d", "-1h"):
        code, _, err = mloop_cli("gc", "--min-age", bad)
        assert code == 2 and "duration" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["runs", "show", "0" * 32], 3, "no run with id"),
        (["runs", "show", "zz"], 2, "not a run id"),
        (["runs", "list", "-f", "metrics.acc >"], 2, "position 13"),
        (["artifacts", "get", "0" * 32, "../x", "out"], 2, "'..'"),
    ],
)
def test_errors_are_one_line_with_an_exit_code(
    two_runs: list[str], args: list[str], code: int, message: str
) -> None:
    exit_code, _, err = mloop_cli(*args)
    assert exit_code == code
    assert message in err and "Traceback" not in err
    assert err.startswith("error: ")


def test_outside_a_workspace_says_to_run_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOOP_URI", raising=False)
    code, _, err = mloop_cli("runs", "list")
    assert code == 3 and "mloop init" in err


def test_debug_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOOP_URI", raising=False)
    result = runner.invoke(app, ["--debug", "runs", "list"])
    assert result.exit_code == 3  # the same exit code as without --debug
    assert "Traceback" in result.stderr and "NotFound" in result.stderr


def test_db_upgrade_on_a_uri(tmp_path: Path) -> None:
    db = tmp_path / "team.db"
    code, out, _ = mloop_cli("--uri", f"sqlite:///{db}", "db", "upgrade")
    assert code == 0 and "upgraded from empty" in out
    code, out, _ = mloop_cli("--uri", f"sqlite:///{db}", "db", "upgrade")
    assert code == 0 and "already at revision" in out


def _commands(command: object = None, words: tuple[str, ...] = ()) -> list[list[str]]:
    """Every group and leaf command of the CLI, as argument lists."""
    import typer

    command = command or typer.main.get_command(app)
    found = [list(words)]
    for name, child in sorted((getattr(command, "commands", None) or {}).items()):
        found += _commands(child, (*words, name))
    return found


def _is_leaf(command: list[str]) -> bool:
    import typer

    node: object = typer.main.get_command(app)
    for word in command:
        node = node.commands[word]  # type: ignore[attr-defined]
    return not hasattr(node, "commands")


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "mloop")
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    code, out, _ = mloop_cli(*command, "--help")
    assert code == 0
    assert "Usage" in out
    if command and _is_leaf(command):  # leaf commands show a worked example
        assert "Example: mloop" in out


def test_console_script_is_installed() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "mloop"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("mloop ")


def test_an_altered_artifact_is_refused_not_returned(workspace: Path) -> None:
    (workspace / "model.bin").write_bytes(b"good weights" * 100)
    with mloop.start_run(capture_env=False) as run:
        entry = mloop.log_artifact(workspace / "model.bin")
    from mloop.blobs import Digest

    stored = Client().blobs.local_path(Digest(entry.digest))
    assert stored is not None
    stored.chmod(0o644)
    stored.write_bytes(b"evil weights" * 100)  # same size, different bytes
    dest = workspace / "copy.bin"
    code, _, err = mloop_cli("artifacts", "get", run.id, "model.bin", str(dest))
    assert code == 7 and entry.digest in err and "Traceback" not in err
    assert not dest.exists()
    assert Client().get_run(run.id).status.value == "FINISHED"  # the record is intact


def test_a_file_that_is_not_an_mloop_database(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"\x00not sqlite at all" * 64)
    code, _, err = mloop_cli("--uri", f"sqlite:///{bogus}", "runs", "list")
    assert code == 2 and "not an mloop database" in err
    assert bogus.read_bytes() == b"\x00not sqlite at all" * 64


def test_init_with_a_uri_remembers_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOOP_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    shared = tmp_path / "shared.db"
    code, _, err = mloop_cli("--uri", f"sqlite:///{shared}", "init", "w2")
    assert code == 0, err
    monkeypatch.chdir(tmp_path / "w2")
    with mloop.start_run(capture_env=False) as run:
        mloop.log_metric("x", 1.0)
    assert Client(f"sqlite:///{shared}").get_run(run.id).metrics == {"x": 1.0}
    monkeypatch.chdir(tmp_path)
    code, _, err = mloop_cli("--blobs", "./shared-blobs", "init", "w3")
    assert code == 0, err
    config = (tmp_path / "w3" / ".mloop" / "config.toml").read_text()
    assert f'blobs = "{tmp_path / "shared-blobs"}"' in config
    assert not (tmp_path / "w2" / ".mloop" / "mloop.db").exists()


def test_markup_in_user_text_is_shown_literally(two_runs: list[str]) -> None:
    mloop_cli("runs", "note", two_runs[0], "try [bold]x[/bold]", "--outcome", "inconclusive")
    code, out, _ = mloop_cli("runs", "show", two_runs[0])
    assert code == 0
    assert "(inconclusive): try [bold]x[/bold]" in out


def test_runs_list_json_pages(two_runs: list[str]) -> None:
    first = json.loads(mloop_cli("runs", "list", "--json", "-n", "1")[1])
    assert len(first["runs"]) == 1 and first["next_page_token"]
    second = json.loads(
        mloop_cli("runs", "list", "--json", "-n", "1", "--page-token", first["next_page_token"])[1]
    )
    assert len(second["runs"]) == 1 and second["next_page_token"] is None
    assert {first["runs"][0]["id"], second["runs"][0]["id"]} == set(two_runs)
    code, _, err = mloop_cli("runs", "list", "-n", "0")
    assert code == 2 and "--max" in err


@pytest.mark.parametrize("width", [80, 120])
def test_the_default_table_fits_the_terminal(two_runs: list[str], width: int) -> None:
    result = runner.invoke(app, ["runs", "list"], env={"COLUMNS": str(width), "NO_COLOR": "1"})
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and all(len(line) <= width for line in lines)
    assert all(run_id[:8] in result.stdout for run_id in two_runs)
    assert "…" not in result.stdout  # nothing had to be cut
    assert "acc" in lines[0] and "metric" in lines[1]


def test_init_with_a_relative_sqlite_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOOP_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = mloop_cli("--uri", "sqlite:///rel.db", "init", "p2")
    assert code == 0, err
    monkeypatch.chdir(tmp_path / "p2")
    code, out, err = mloop_cli("runs", "list")
    assert code == 0, err
    assert "No runs yet" in out


def test_artifact_names_with_markup_are_listed_literally(workspace: Path) -> None:
    (workspace / "f.txt").write_text("x")
    with mloop.start_run(capture_env=False) as run:
        mloop.log_artifact(workspace / "f.txt", "[red]plot[/red].txt")
    for args in (("artifacts", "list", run.id), ("runs", "show", run.id)):
        code, out, _ = mloop_cli(*args)
        assert code == 0 and "[red]plot[/red].txt" in out


def test_control_characters_in_user_text_are_shown_not_sent_to_the_terminal(
    workspace: Path,
) -> None:
    """A value that holds escape sequences (clear the screen, turn the text red, ring the
    bell) is printed with visible symbols for its control characters, in every table."""
    evil = "\x1b[2J\x1b[31mred\x07\rover"
    with mloop.start_run(experiment="cli", name="escapes", capture_env=False) as run:
        mloop.log_params({"p": evil})
        mloop.set_tag("t", evil)
    Client().add_note(run.id, f"note {evil}")
    for args in (
        ("runs", "list", "-c", "name,params.p,tags.t"),
        ("runs", "show", run.id),
        ("runs", "compare", run.id, run.id),
    ):
        code, out, err = mloop_cli(*args)
        assert code == 0, err
        assert not set(out) & {"\x1b", "\x07", "\r"}, repr(out)
        assert "␛[2J␛[31mred␇␍over" in out
    code, out, _ = mloop_cli("runs", "list", "--json")
    assert json.loads(out)["runs"][0]["params"]["p"] == evil  # JSON keeps the value exact


@pytest.mark.parametrize("number", [str(2**63), str(-(2**63) - 1)])
def test_a_number_out_of_64_bits_is_a_one_line_error(workspace: Path, number: str) -> None:
    code, _, err = mloop_cli("events", "--after", number)
    assert code == 2 and f"{number} is not a 64-bit whole number" in err
    assert len(err.strip().splitlines()) == 1
