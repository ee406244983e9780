"""``mloop runs reproduce``: run a pipeline run again from the code it ran.

The pipeline run's tracked run recorded the git commit (and the folder it was run
from); the commit is checked out into a temporary worktree, the pipeline is run
there with the recorded parameters and without the cache, and every step's output
and the metrics it logged are compared with the original's. Data versions are read
by their references as before, and seeds are parameters, so a deterministic pipeline
gives identical digests and metrics.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mloop.errors import InvalidArgument, MloopError
from mloop.pipelines.values import load_value
from mloop.tracking import capture
from mloop.tracking.client import Client

CWD_TAG = "mloop.pipeline.cwd"
"""The folder a pipeline was run from, relative to the git root."""


@dataclass(frozen=True, slots=True)
class StepComparison:
    node: str
    same: bool
    original: str
    again: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Reproduction:
    original: str
    again: str
    commit: str
    dirty: bool
    steps: list[StepComparison]

    @property
    def identical(self) -> bool:
        return all(step.same for step in self.steps)


def reproduce(run_id: str, *, client: Client) -> Reproduction:
    original = client.store.pipelines.get_run(run_id)
    tags = client.get_run(original.run_id).tags
    commit, root = tags.get(capture.GIT_COMMIT), tags.get(capture.GIT_ROOT)
    if not commit or not root:
        raise InvalidArgument(
            f"pipeline run {original.id[:12]} recorded no git commit (it was not run inside a "
            "git repository), so its code cannot be checked out again"
        )
    if not Path(root).is_dir():
        raise InvalidArgument(f"the repository {root} the run came from is not on this machine")
    folder = Path(tempfile.mkdtemp(prefix="mloop-reproduce-"))
    worktree = folder / "code"
    try:
        _git(root, "worktree", "add", "--detach", str(worktree), commit)
        cwd = worktree / tags.get(CWD_TAG, "")
        again = _run_again(client, original.pipeline, json.loads(original.params), cwd)
    finally:
        subprocess.run(
            ["git", "-C", root, "worktree", "remove", "--force", str(worktree)],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)
    return Reproduction(
        original.id,
        again,
        commit,
        tags.get(capture.GIT_DIRTY) == "true",
        _compare(client, original.id, again),
    )


def _git(root: str, *args: str) -> None:
    done = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise MloopError(f"git {' '.join(args[:2])} failed: {done.stderr.strip()}")


def _run_again(client: Client, pipeline: str, params: dict[str, object], cwd: Path) -> str:
    settings = client.settings
    command = [sys.executable, "-m", "mloop", "--uri", settings.uri]
    if settings.blobs:
        command += ["--blobs", settings.blobs]
    command += ["pipeline", "run", pipeline, "--no-cache", "--json"]
    for name, value in params.items():
        command += ["--param", f"{name}={json.dumps(value)}"]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise MloopError(f"the pipeline failed when run again: {message[-1] if message else ''}")
    return str(json.loads(done.stdout)["run"])


def _compare(client: Client, original: str, again: str) -> list[StepComparison]:
    before = {s.node: s for s in client.store.pipelines.steps(original)}
    after = {s.node: s for s in client.store.pipelines.steps(again)}
    found = []
    for node in sorted(set(before) | set(after)):
        old, new = before.get(node), after.get(node)
        if old is None or new is None:
            found.append(
                StepComparison(
                    node,
                    False,
                    "-" if old is None else "ran",
                    "-" if new is None else "ran",
                    "ran only once",
                )
            )
            continue
        a, b = json.loads(old.outputs), json.loads(new.outputs)
        differences = []
        if a != b and a and b and a["kind"] == b["kind"] == "json":
            differences.append(f"{load_value(client, a)!r} → {load_value(client, b)!r}")
        differences += _metric_changes(client, old.run_id, new.run_id)
        found.append(
            StepComparison(
                node,
                a == b and not differences,
                a["digest"][:12] if a else "-",
                b["digest"][:12] if b else "-",
                "; ".join(differences),
            )
        )
    return found


def _metric_changes(client: Client, old: str | None, new: str | None) -> list[str]:
    """The metrics the step logged that differ (or that only one of the runs logged)."""
    if old is None or new is None:
        return []
    a, b = client.get_run(old).metrics, client.get_run(new).metrics
    return [
        f"{key} {a.get(key, '-')} → {b.get(key, '-')}"
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    ]
