"""The workspace: a project folder holding ``.mloop/``, found like git finds ``.git``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mloop.errors import AlreadyExists, InvalidArgument

DIRNAME = ".mloop"
DATABASE = "mloop.db"
BLOBS = "blobs"
CONFIG = "config.toml"
CACHE = "cache"
CHECKOUTS = "checkouts"
"""Under the cache: verified copies of dataset versions, one folder per version digest."""
MODELS = "models"
"""Under the cache: extracted model packages, one folder per package digest."""

_CONFIG_TEMPLATE = """\
# mloop workspace settings. Precedence: command-line flag > environment > this file > default.
# uri = "postgresql://user@host/db"   # metadata store (default: sqlite .mloop/mloop.db)
# blobs = "s3://bucket/prefix"        # blob store (default: .mloop/blobs)
# experiment = "Default"              # experiment used when a run names none
"""

_GITIGNORE = "mloop.db\nmloop.db-*\nblobs/\ntmp/\ncache/\njournal/\n"


def find_workspace(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that contains ``.mloop/``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / DIRNAME).is_dir():
            return folder
    return None


def create_workspace(folder: Path, *, uri: str | None = None, blobs: str | None = None) -> Path:
    """Create ``folder/.mloop`` with its blob folder and a settings file.

    ``uri`` and ``blobs``, when given, are written into the settings file.
    """
    if folder.exists() and not folder.is_dir():
        raise InvalidArgument(f"cannot create a workspace in {folder}: it is a file")
    home = folder / DIRNAME
    if (home / CONFIG).exists():
        raise AlreadyExists(f"{folder} is already an mloop workspace ({home})")
    (home / BLOBS).mkdir(parents=True, exist_ok=True)
    chosen = "".join(
        f"{key} = {json.dumps(value)}\n" for key, value in (("uri", uri), ("blobs", blobs)) if value
    )
    (home / CONFIG).write_text(_CONFIG_TEMPLATE + chosen, encoding="utf-8")
    (home / ".gitignore").write_text(_GITIGNORE, encoding="utf-8")
    return home


def database_uri(workspace: Path) -> str:
    return f"sqlite:///{workspace / DIRNAME / DATABASE}"


def blobs_root(workspace: Path) -> Path:
    return workspace / DIRNAME / BLOBS


def cache_root(workspace: Path | None) -> Path:
    """The local caches: the workspace's ``.mloop/cache``, else ``$XDG_CACHE_HOME/mloop``."""
    if workspace is not None:
        return workspace / DIRNAME / CACHE
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mloop"
