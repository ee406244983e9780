"""``mloop fsck``: damaged blobs found, what they break named, and repairs from good copies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from files import make_tree
from mloop.blobs import Digest
from mloop.blobs.fsck import Problem
from mloop.cli import app
from mloop.data import DataClient
from mloop.models import load, log_model
from mloop.registry import Registry
from mloop.serving import Deployments
from mloop.serving.storecheck import check_storage
from mloop.tracking.client import Client

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


def aged(root: Path) -> Path:
    """Files written a minute ago, so the hash cache trusts (and remembers) them."""
    past = os.stat(root).st_mtime - 60
    for path in [root, *root.rglob("*")]:
        os.utime(path, (past, past))
    return root


def damage(client: Client, digest: Digest, data: bytes | None) -> None:
    """Replace a stored blob's bytes behind the store's back, or delete it (None)."""
    path = client.blobs.local_path(digest)
    assert path is not None
    path.chmod(0o644)
    if data is None:
        path.unlink()
    else:
        path.write_bytes(data)


@pytest.fixture
def cached(client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """The client, with this machine's caches (hash cache, extracted models) per test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    yield client


def test_fsck_names_what_damage_breaks_and_repairs_from_good_copies(
    cached: Client, tmp_path: Path
) -> None:
    client = cached
    src = aged(make_tree(tmp_path / "src", {"a.txt": b"alpha", "b.txt": b"beta"}))
    data = DataClient(client)
    version = data.add(src, "images").version
    run = client.create_run(capture_env=False)
    client.log_artifact(run.id, src / "a.txt")
    note = client.log_bytes(run.id, b"only in the store", "note.txt")
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
    model = LogisticRegression().fit(frame[["x"]], frame["y"])
    info = log_model(client, run.id, model, input_example=frame[["x"]].head(2))
    Registry(client).register(info.uri, "m")
    Registry(client).set_alias("m/1", "champion")
    Deployments(client).create("api", ["models:/m@champion"])
    load(info.uri, client=client)  # extracted into the model cache: a second copy
    assert check_storage(client).clean

    a_txt = next(e.digest for e in data.manifest(version).entries if e.path == "a.txt")
    package = client.blobs.get_manifest(Digest(info.digest))
    model_file = max(package.entries, key=lambda e: e.size).digest
    damage(client, a_txt, None)
    damage(client, model_file, b"rotten")
    damage(client, Digest(note.digest), b"rotten too")

    found = check_storage(client)
    problems = {d.digest: d.problem for d in found.blobs.damaged}
    assert problems == {
        a_txt: Problem.MISSING,
        model_file: Problem.CORRUPTED,
        Digest(note.digest): Problem.CORRUPTED,
    }
    assert not found.clean
    assert {(u.kind, u.name) for u in found.broken} == {
        ("dataset version", "images@1"),
        ("artifact", f"runs:/{run.id}/a.txt"),
        ("artifact", f"runs:/{run.id}/note.txt"),
        ("artifact", info.uri.removesuffix("/")),
        ("model version", "models:/m/1"),
        ("deployment", "api"),
    }
    again = check_storage(client)  # the corrupted ones were moved aside
    assert {d.digest: d.problem for d in again.blobs.damaged}[model_file] is Problem.QUARANTINED

    fixed = check_storage(client, repair=True)
    repaired = {d.digest: d.repaired_from for d in fixed.blobs.damaged}
    assert repaired[a_txt] == src / "a.txt"  # the file added, known to the hash cache
    assert repaired[model_file] is not None and "models" in repaired[model_file].parts
    assert repaired[Digest(note.digest)] is None  # no copy anywhere: the quarantined one is bad
    assert {(u.kind, u.name) for u in fixed.broken} == {("artifact", f"runs:/{run.id}/note.txt")}
    assert client.blobs.get_bytes(a_txt) == b"alpha"
    load(info.uri, client=client)
    client.log_bytes(run.id, b"only in the store", "note.txt")  # the original, stored again
    assert check_storage(client).clean


def test_a_sample_hashes_some_blobs_but_checks_every_reference(
    cached: Client, tmp_path: Path
) -> None:
    data = DataClient(cached)
    files = {f"{n}.txt": f"file {n}".encode() for n in range(20)}
    version = data.add(make_tree(tmp_path / "src", files), "many").version
    gone = data.manifest(version).entries[0].digest
    damage(cached, gone, None)
    found = check_storage(cached, sample=3)
    assert found.blobs.hashed == 3 + 1  # three sampled, and the manifest, read in full
    assert [d.digest for d in found.blobs.damaged] == [gone]
    assert check_storage(cached, sample=0.5).blobs.hashed == 10 + 1


def test_the_command_exits_9_on_damage_and_0_once_repaired(workspace: Path) -> None:
    src = aged(make_tree(workspace / "src", {"t.csv": b"a,b\n1,x\n2,y\n"}))
    code, _, err = cli("data", "add", str(src), "--name", "t")
    assert code == 0, err
    code, out, _ = cli("fsck")
    assert code == 0 and "Clean." in out
    blob = next(p for p in (workspace / ".mloop" / "blobs").glob("*/*") if p.stat().st_size == 12)
    blob.chmod(0o644)
    blob.write_bytes(b"a,b\n1,x\n2,z\n")
    code, out, _ = cli("fsck", "--sample", "100%")
    assert code == 9 and "corrupted" in out and "breaks dataset version t@1" in out
    code, out, _ = cli("fsck", "--json")
    shown = json.loads(out)
    assert code == 9 and not shown["clean"]
    assert shown["damaged"][0]["problem"] == "quarantined"
    assert [(b["kind"], b["name"]) for b in shown["broken"]] == [("dataset version", "t@1")]
    code, out, _ = cli("fsck", "--repair")
    assert code == 0 and f"repaired from {src / 't.csv'}" in out
    assert cli("fsck")[0] == 0
    code, _, err = cli("fsck", "--sample", "some")
    assert code == 2 and "--sample" in err


@pytest.mark.slow
def test_gc_removes_what_a_killed_data_add_left(workspace: Path) -> None:
    big = workspace / "big.bin"
    with big.open("wb") as out:
        for n in range(400):
            out.write(bytes([n % 251]) * (1 << 20))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    adding = subprocess.Popen(
        [sys.executable, "-m", "mloop", "data", "add", "big.bin", "--name", "big"],
        cwd=workspace,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    blobs = workspace / ".mloop" / "blobs"
    deadline = time.monotonic() + 60
    while not list(blobs.glob("*/.tmp-*")) and adding.poll() is None:
        assert time.monotonic() < deadline, "data add never started writing"
        time.sleep(0.001)
    adding.send_signal(signal.SIGKILL)
    adding.wait()
    left = list(blobs.glob("*/.tmp-*"))
    assert left, "the add finished before it could be killed"

    code, out, _ = cli("gc")  # the default --min-age 1h: a write may still be going on
    assert code == 0 and "temporary" not in out and left[0].exists()
    code, out, _ = cli("gc", "--delete", "--min-age", "0")
    assert code == 0 and "Deleted 1 temporary file of abandoned writes" in out
    assert not list(blobs.glob("*/.tmp-*"))
    code, out, _ = cli("data", "add", "big.bin", "--name", "big")
    assert code == 0 and "Added big@1" in out
    assert cli("fsck")[0] == 0
