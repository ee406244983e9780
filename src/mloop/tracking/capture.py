"""What a run records about where it ran: code version, command, interpreter, packages, host."""

from __future__ import annotations

import functools
import platform
import shlex
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

TAG_PREFIX = "mloop."
DIFF_ARTIFACT = "_mloop/git.diff"
PACKAGES_ARTIFACT = "_mloop/requirements.txt"
SKIPPED_TAG = "mloop.env.files_skipped"


COMMAND = "mloop.source.command"
PYTHON = "mloop.env.python"
PLATFORM = "mloop.env.platform"
HOST = "mloop.env.host"
GIT_COMMIT = "mloop.source.git.commit"
GIT_BRANCH = "mloop.source.git.branch"
GIT_DIRTY = "mloop.source.git.dirty"
GIT_ROOT = "mloop.source.git.root"


@dataclass(frozen=True, slots=True)
class Capture:
    tags: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)  # artifact path -> content


def capture(cwd: Path | None = None) -> Capture:
    """Everything recorded automatically when a run starts."""
    tags = {
        COMMAND: shlex.join(sys.argv) if sys.argv and sys.argv[0] else "",
        PYTHON: platform.python_version(),
        PLATFORM: platform.platform(terse=True),
        HOST: socket.gethostname(),
    }
    files = {PACKAGES_ARTIFACT: installed_packages().encode()}
    git = _git_state(cwd or Path.cwd())
    if git is not None:
        git_tags, diff = git
        tags.update(git_tags)
        if diff:
            files[DIFF_ARTIFACT] = diff
    return Capture(tags, files)


@functools.cache
def installed_packages() -> str:
    """``name==version`` lines for every installed distribution, sorted (cached per process)."""
    seen: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in seen:
            seen[name.lower()] = f"{name}=={dist.version}"
    return "".join(f"{line}\n" for _, line in sorted(seen.items()))


def _git_state(cwd: Path) -> tuple[dict[str, str], bytes] | None:
    """Commit, branch and dirty flag as tags plus the uncommitted diff; None outside git."""
    head = _git(cwd, "rev-parse", "HEAD")
    if head is None:
        return None
    top = _git(cwd, "rev-parse", "--show-toplevel")
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(cwd, "status", "--porcelain", "--untracked-files=no")
    dirty = bool(status and status.strip())
    tags = {
        GIT_COMMIT: head.decode().strip(),
        GIT_BRANCH: (branch or b"").decode().strip(),
        GIT_DIRTY: "true" if dirty else "false",
        GIT_ROOT: (top or b"").decode().strip(),
    }
    diff = (_git(cwd, "diff", "HEAD", "--binary") or b"") if dirty else b""
    return tags, diff


def _git(cwd: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
