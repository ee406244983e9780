"""The tracking API as a training script uses it."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mloop
from mloop.errors import InvalidArgument, NotFound
from mloop.store import RunStatus
from mloop.tracking.client import Client


def test_a_run_records_everything_and_finishes(client: Client) -> None:
    with mloop.start_run(experiment="exp", name="first", client=client) as run:
        mloop.log_params({"lr": 0.1, "layers": [64, 32]})
        mloop.log_param("optimizer", "adam")
        for i in range(100):
            mloop.log_metric("loss", 1.0 / (i + 1))
        mloop.log_metrics({"acc": 0.9, "f1": 0.8}, step=3)
        mloop.set_tag("team", "vision")
    stored = client.get_run(run.id)
    assert stored.status == RunStatus.FINISHED and stored.end_time is not None
    assert stored.params == {"lr": "0.1", "layers": "[64, 32]", "optimizer": "adam"}
    assert stored.metrics["loss"] == pytest.approx(0.01) and stored.metrics["acc"] == 0.9
    history = client.get_metric_history(run.id, "loss")
    assert [p.step for p in history] == list(range(100))  # steps count up per key
    assert stored.tags["team"] == "vision"
    assert mloop.active_run() is None


def test_an_exception_marks_the_run_failed_and_propagates(client: Client) -> None:
    with pytest.raises(ZeroDivisionError), mloop.start_run(client=client) as run:
        mloop.log_metric("loss", math.nan)
        _ = 1 / 0
    stored = client.get_run(run.id)
    assert stored.status == RunStatus.FAILED
    assert math.isnan(stored.metrics["loss"])  # buffered points are not lost on failure


def test_ctrl_c_marks_the_run_killed(client: Client) -> None:
    with pytest.raises(KeyboardInterrupt), mloop.start_run(client=client) as run:
        raise KeyboardInterrupt
    assert client.get_run(run.id).status == RunStatus.KILLED


def test_nested_runs_link_to_their_parent(client: Client) -> None:
    with mloop.start_run(client=client) as parent:
        with mloop.start_run(name="child") as child:
            assert mloop.active_run() is child
            mloop.log_metric("x", 1.0)
        assert mloop.active_run() is parent
    assert client.get_run(child.id).parent_id == parent.id
    assert client.get_run(child.id).metrics == {"x": 1.0}


def test_logging_without_a_run_is_an_error_not_a_new_run(client: Client) -> None:
    with pytest.raises(InvalidArgument, match="no active run"):
        mloop.log_metric("loss", 1.0)
    with pytest.raises(InvalidArgument, match="no active run"):
        mloop.log_params({"a": 1})
    assert client.search_runs().items == []


@pytest.mark.parametrize("value", ["0.3", None, "nan", b"\x00", object()], ids=repr)
def test_non_numeric_metric_is_refused_at_the_call(client: Client, value: object) -> None:
    with mloop.start_run(client=client) as run:
        mloop.log_metric("ok", 1.0)
        with pytest.raises(InvalidArgument, match="metric 'bad' must be a number"):
            mloop.log_metric("bad", value)  # type: ignore[arg-type]
    assert client.get_run(run.id).metrics == {"ok": 1.0}


def test_numpy_scalars_and_infinities_are_metrics(client: Client) -> None:
    np = pytest.importorskip("numpy")
    with mloop.start_run(client=client) as run:
        mloop.log_metric("a", np.float32(0.5))
        mloop.log_metric("b", np.int64(3))
        mloop.log_metric("c", -math.inf)
    assert client.get_run(run.id).metrics == {"a": 0.5, "b": 3.0, "c": -math.inf}


def test_changing_a_param_is_refused_and_the_first_value_kept(client: Client) -> None:
    from mloop.errors import Conflict

    with mloop.start_run(client=client) as run:
        mloop.log_param("lr", 0.1)
        with pytest.raises(Conflict, match="immutable"):
            mloop.log_param("lr", 0.2)
    assert client.get_run(run.id).params == {"lr": "0.1"}


def test_artifacts_files_folders_and_dicts_round_trip(client: Client, tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"\x00weights" * 1000)
    folder = tmp_path / "report"
    (folder / "plots").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>hi</h1>")
    (folder / "plots" / "a.svg").write_text("<svg/>")
    with mloop.start_run(client=client) as run:
        mloop.log_artifact(tmp_path / "model.bin", "models/model.bin")
        mloop.log_artifact(folder)
        mloop.log_dict({"classes": ["a", "b"]}, "meta/classes.json")
    paths = {
        a.path: a.is_dir for a in client.list_artifacts(run.id) if not a.path.startswith("_mloop/")
    }
    assert paths == {"models/model.bin": False, "report": True, "meta/classes.json": False}
    out = tmp_path / "out"
    out.mkdir()
    assert (
        client.download_artifact(run.id, "models/model.bin", out).read_bytes()
        == b"\x00weights" * 1000
    )
    client.download_artifact(run.id, "report", out / "r")
    assert (out / "r" / "plots" / "a.svg").read_text() == "<svg/>"
    single = client.download_artifact(run.id, "report/index.html", out / "index.html")
    assert single.read_text() == "<h1>hi</h1>"
    assert "classes" in client.download_artifact(run.id, "meta/classes.json", out).read_text()
    with pytest.raises(NotFound, match=r"no artifact 'nope\.txt'"):
        client.download_artifact(run.id, "nope.txt", out)


@pytest.mark.parametrize(
    "bad", ["../escape.txt", "/etc/passwd", "a/../../b", "C:\\x", "_mloop/fake", ""]
)
def test_artifact_paths_that_could_escape_are_refused(
    client: Client, tmp_path: Path, bad: str
) -> None:
    (tmp_path / "f.txt").write_text("x")
    with mloop.start_run(client=client) as run, pytest.raises(InvalidArgument):
        mloop.log_artifact(tmp_path / "f.txt", bad)
    assert [a.path for a in client.list_artifacts(run.id) if not a.path.startswith("_mloop/")] == []


def test_log_figure_stores_a_png(client: Client, tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots()
    axis.plot([1, 2, 3])
    with mloop.start_run(client=client) as run:
        mloop.log_figure(figure, "curve.png")
    plt.close(figure)
    png = client.download_artifact(run.id, "curve.png", tmp_path).read_bytes()
    assert png.startswith(b"\x89PNG")


def test_environment_and_git_state_are_captured(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=a@b", "-c", "user.name=a", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    (repo / "train.py").write_text("print(2)\n")  # uncommitted change
    monkeypatch.chdir(repo)
    with mloop.start_run(client=client) as run:
        pass
    tags = client.get_run(run.id).tags
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert tags["mloop.source.git.commit"] == head
    assert tags["mloop.source.git.branch"] == "main"
    assert tags["mloop.source.git.dirty"] == "true"
    assert tags["mloop.env.python"] == ".".join(map(str, sys.version_info[:3]))
    out = tmp_path / "out"
    out.mkdir()
    diff = client.download_artifact(run.id, "_mloop/git.diff", out).read_text()
    assert "+print(2)" in diff
    packages = client.download_artifact(run.id, "_mloop/requirements.txt", out).read_text()
    assert "SQLAlchemy==" in packages or "sqlalchemy==" in packages.lower()


@pytest.mark.postgres
def test_without_a_blob_store_runs_still_track(
    make_store_uri: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLOOP_BLOBS", raising=False)
    store_uri = make_store_uri("postgres")  # a SQLite store always has a blob folder beside it
    with Client(store_uri) as client, mloop.start_run(client=client) as run:
        mloop.log_metric("loss", 0.5)
    with Client(store_uri) as client:
        stored = client.get_run(run.id)
        assert stored.metrics == {"loss": 0.5}
        assert "MLOOP_BLOBS" in stored.tags["mloop.env.files_skipped"]
        assert "mloop.env.python" in stored.tags
        with pytest.raises(InvalidArgument, match="set MLOOP_BLOBS"):
            client.log_dict(run.id, {"a": 1}, "a.json")


def _script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run(  # noqa: PLW1510 - the caller checks the exit code
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_interpreter_exit_flushes_metrics_and_ends_open_runs(workspace: Path) -> None:
    done = _script(
        workspace,
        """
        import mloop
        run = mloop.start_run(name="no-with")
        for i in range(5000):
            mloop.log_metric("loss", float(i))
        print(run.id)
    """,
    )
    assert done.returncode == 0, done.stderr
    run = Client().get_run(done.stdout.strip())
    assert run.status == RunStatus.FINISHED
    assert len(Client().get_metric_history(run.id, "loss")) == 5000


def test_a_script_that_crashes_leaves_a_failed_run(workspace: Path) -> None:
    done = _script(
        workspace,
        """
        import mloop
        run = mloop.start_run(name="crash")
        print(run.id, flush=True)
        mloop.log_metric("loss", 1.0)
        raise RuntimeError("diverged")
    """,
    )
    assert done.returncode == 1 and "diverged" in done.stderr
    run = Client().get_run(done.stdout.strip())
    assert run.status == RunStatus.FAILED and run.metrics == {"loss": 1.0}


@pytest.mark.s3
def test_artifacts_go_to_s3_when_mloop_blobs_says_so(s3_server: Any, workspace: Path) -> None:
    from mloop.blobs import open_blobs

    prefix = f"{s3_server.bucket}/tracking-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "MLOOP_BLOBS": f"s3://{prefix}",
        "AWS_ACCESS_KEY_ID": s3_server.storage_options["key"],
        "AWS_SECRET_ACCESS_KEY": s3_server.storage_options["secret"],
        "FSSPEC_S3_ENDPOINT_URL": s3_server.endpoint_url,
    }
    (workspace / "weights.bin").write_bytes(b"w" * 10_000)
    script = workspace / "train.py"
    script.write_text(
        textwrap.dedent("""
        import mloop
        with mloop.start_run() as run:
            mloop.log_artifact("weights.bin")
        out = mloop.Client().download_artifact(run.id, "weights.bin", "back.bin")
        print(run.id, out.stat().st_size)
    """)
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1] == "10000"
    remote = open_blobs(f"s3://{prefix}", s3_server.storage_options)
    digests = {str(d) for d in remote.iter_digests()}
    from mloop.blobs import hash_bytes

    assert str(hash_bytes(b"w" * 10_000)) in digests  # the artifact itself is in the bucket
    assert not any((workspace / ".mloop" / "blobs").iterdir())  # nothing went to the local folder


@pytest.mark.parametrize("step", [1.5, "3", True, None], ids=repr)
def test_a_bad_step_is_refused_at_the_call_and_loses_nothing_else(
    client: Client, step: object
) -> None:
    with mloop.start_run(client=client) as run:
        if step is None:
            mloop.log_metric("x", 1.0, step=3)
        else:
            with pytest.raises(InvalidArgument, match="step must be an integer"):
                mloop.log_metric("x", 1.0, step=step)  # type: ignore[arg-type]
        mloop.log_metric("ok", 2.0)
    assert client.get_run(run.id).metrics["ok"] == 2.0


def test_numpy_integer_steps_are_steps(client: Client) -> None:
    np = pytest.importorskip("numpy")
    with mloop.start_run(client=client) as run:
        for step in np.arange(3):
            mloop.log_metric("loss", 1.0, step=step)
    assert [p.step for p in client.get_metric_history(run.id, "loss")] == [0, 1, 2]


def test_ending_a_run_inside_with_stops_it_accepting_metrics(client: Client) -> None:
    with mloop.start_run(client=client) as run:
        run.end()
        assert mloop.active_run() is None
        with pytest.raises(InvalidArgument, match="no active run"):
            mloop.log_metric("late", 1.0)
        with pytest.raises(InvalidArgument, match="has ended"):
            run.log_metric("late", 1.0)
    assert client.get_run(run.id).status == RunStatus.FINISHED


@pytest.mark.parametrize(
    ("code", "status"), [(0, RunStatus.FINISHED), (None, RunStatus.FINISHED), (2, RunStatus.FAILED)]
)
def test_sys_exit_zero_is_a_finished_run(
    client: Client, code: int | None, status: RunStatus
) -> None:
    with pytest.raises(SystemExit), mloop.start_run(client=client) as run:
        sys.exit(code)
    assert client.get_run(run.id).status == status


def test_child_runs_join_their_parents_experiment(client: Client) -> None:
    with mloop.start_run(experiment="search", client=client) as parent:
        with mloop.start_run() as child:
            pass
        with mloop.start_run(experiment="elsewhere") as other:
            pass
    experiment = client.get_run(parent.id).experiment_id
    assert client.get_run(child.id).experiment_id == experiment
    assert client.get_run(other.id).experiment_id != experiment
    assert {r.id for r in client.search_runs(experiments=["search"]).items} == {parent.id, child.id}


def test_order_by_accepts_a_single_string(client: Client) -> None:
    for acc in (0.2, 0.9):
        with mloop.start_run(client=client):
            mloop.log_metric("acc", acc)
    runs = client.search_runs(order_by="metrics.acc DESC").items
    assert [r.metrics["acc"] for r in runs] == [0.9, 0.2]


def test_download_destinations(client: Client, tmp_path: Path) -> None:
    folder = tmp_path / "report"
    (folder / "plots").mkdir(parents=True)
    (folder / "plots" / "a.svg").write_text("<svg/>")
    (tmp_path / "m.bin").write_bytes(b"m")
    with mloop.start_run(client=client) as run:
        mloop.log_artifact(folder)
        mloop.log_artifact(tmp_path / "m.bin")
    out = tmp_path / "out"
    written = client.download_artifact(run.id, "m.bin", f"{out}/new/")  # a slash means "into"
    assert written == out / "new" / "m.bin" and written.read_bytes() == b"m"
    sub = client.download_artifact(run.id, "report/plots", out / "plots-copy")
    assert (sub / "a.svg").read_text() == "<svg/>"
    (out / "taken.txt").write_text("mine")
    with pytest.raises(InvalidArgument, match=r"folder artifact 'report'.*a file"):
        client.download_artifact(run.id, "report", out / "taken.txt")
    assert (out / "taken.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value": 10**400}, "too large for a float"),
        ({"value": 1.0, "step": 2**63}, "does not fit in 64 bits"),
        ({"value": 1.0, "timestamp": -(2**64)}, "does not fit in 64 bits"),
    ],
)
def test_values_the_database_cannot_hold_are_refused_at_the_call(
    client: Client, kwargs: dict[str, Any], message: str
) -> None:
    with mloop.start_run(client=client) as run:
        mloop.log_metric("ok", 1.0)
        with pytest.raises(InvalidArgument, match=message):
            mloop.log_metric("bad", **kwargs)
        mloop.log_metric("ok", 2.0)
    stored = client.get_run(run.id)
    assert stored.status == RunStatus.FINISHED and stored.metrics == {"ok": 2.0}


def test_text_with_nul_is_refused_the_same_on_every_backend(client: Client) -> None:
    with mloop.start_run(client=client) as run:
        with pytest.raises(InvalidArgument, match="NUL"):
            mloop.log_param("p", "a\x00b")
        with pytest.raises(InvalidArgument, match="NUL"):
            mloop.set_tag("t", "a\x00b")
        mloop.log_params({"nested": {"fn": object}})  # not JSON: kept as text, not an error
    assert client.get_run(run.id).params["nested"].startswith('{"fn": "<class')


def test_a_blob_store_failure_at_start_leaves_no_orphan_run(store_uri: str, tmp_path: Path) -> None:
    from mloop.blobs import BlobStore, LocalBackend
    from mloop.errors import BackendUnavailable

    class FullDisk(LocalBackend):
        def put_bytes(self, key: str, data: bytes) -> None:
            raise BackendUnavailable("no space left on device")

    with Client(store_uri, blobs=BlobStore(FullDisk(tmp_path / "blobs"))) as client:
        with pytest.raises(BackendUnavailable, match="no space"):
            mloop.start_run(client=client)
        assert client.search_runs().items == []
        assert mloop.active_run() is None


def test_a_symlink_in_dest_cannot_redirect_a_subfolder_download(
    client: Client, tmp_path: Path
) -> None:
    inner = tmp_path / "data" / "part" / "inner"
    inner.mkdir(parents=True)
    (inner / "b.txt").write_text("b")
    with mloop.start_run(client=client) as run:
        mloop.log_artifact(tmp_path / "data")
    out, outside = tmp_path / "out", tmp_path / "outside"
    (out / "part").mkdir(parents=True)
    outside.mkdir()
    (out / "part" / "inner").symlink_to(outside)
    with pytest.raises(InvalidArgument, match="symlink"):
        client.download_artifact(run.id, "data/part", out)
    assert list(outside.iterdir()) == []


def test_wrong_types_at_the_client_are_clear_errors(client: Client, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="run id is a string"):
        client.get_run(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="max_results"):
        client.search_runs(max_results="5")  # type: ignore[arg-type]
    run = client.create_run(capture_env=False)
    with pytest.raises(InvalidArgument, match="status must be one of"):
        client.end_run(run.id, "DONE")  # type: ignore[arg-type]
    client.end_run(run.id, "killed")  # type: ignore[arg-type]
    assert client.get_run(run.id).status == RunStatus.KILLED
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "f.txt").write_text("x")
    entry = client.log_artifact(run.id, tmp_path / "here" / ".")
    assert entry.path == "here" and entry.is_dir


SIGTERM_SCRIPTS = {
    "with": """
        import time, mloop
        with mloop.start_run(name="job") as run:
            for i in range(1000):
                mloop.log_metric("loss", float(i))
            print(run.id, flush=True)
            time.sleep(60)
    """,
    "no-with": """
        import time, mloop
        run = mloop.start_run(name="job")
        for i in range(1000):
            mloop.log_metric("loss", float(i))
        print(run.id, flush=True)
        time.sleep(60)
    """,
}


@pytest.mark.parametrize("script", SIGTERM_SCRIPTS.values(), ids=SIGTERM_SCRIPTS.keys())
def test_sigterm_ends_the_run_killed_with_its_metrics(workspace: Path, script: str) -> None:
    path = workspace / "job.py"
    path.write_text(textwrap.dedent(script))
    proc = subprocess.Popen(
        [sys.executable, str(path)],
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert Client().get_run(run_id).status == RunStatus.KILLED
    assert len(Client().get_metric_history(run_id, "loss")) == 1000


def test_sigterm_handling_is_given_back_when_runs_end(client: Client) -> None:
    import signal

    with mloop.start_run(client=client):
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_an_interrupt_while_ending_still_writes_the_metrics(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = client.log_metrics
    calls = []

    def interrupted_once(run_id: str, points: Any) -> None:
        calls.append(len(points))
        if len(calls) == 1:
            raise KeyboardInterrupt  # Ctrl-C (or SIGTERM) lands while the buffer is written
        real(run_id, points)

    monkeypatch.setattr(client, "log_metrics", interrupted_once)
    with pytest.raises(KeyboardInterrupt), mloop.start_run(client=client) as run:
        for i in range(100):
            mloop.log_metric("loss", float(i))
    monkeypatch.undo()
    assert client.get_run(run.id).status == RunStatus.KILLED
    assert len(client.get_metric_history(run.id, "loss")) == 100
    assert mloop.active_run() is None


def test_an_ended_run_refuses_every_kind_of_write(client: Client) -> None:
    with mloop.start_run(client=client) as run:
        pass
    for write in (
        lambda: run.log_params({"a": 1}),
        lambda: run.set_tags({"a": 1}),
        lambda: run.log_dict({"a": 1}, "a.json"),
        lambda: run.log_metric("m", 1.0),
    ):
        with pytest.raises(InvalidArgument, match="has ended"):
            write()


def test_messages_never_show_a_password() -> None:
    with (
        Client("postgresql://me:s3cret@127.0.0.1:1/db") as client,
        pytest.raises(InvalidArgument) as error,
    ):
        client.blobs  # noqa: B018 - resolving the blob store is the point
    assert "s3cret" not in str(error.value) and "me:***@" in str(error.value)
