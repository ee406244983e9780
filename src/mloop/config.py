"""Settings, resolved in one place: flag > environment > workspace file > default.

Environment variables: ``MLOOP_URI`` (metadata store), ``MLOOP_BLOBS`` (blob
root: a path or ``s3://bucket/prefix``), ``MLOOP_EXPERIMENT``, ``MLOOP_USER``.
The workspace file is ``.mloop/config.toml`` in the nearest workspace.
S3 credentials and endpoint come from the usual ``AWS_*`` variables or
fsspec's ``FSSPEC_S3_*`` ones (e.g. ``FSSPEC_S3_ENDPOINT_URL``).
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mloop import workspace as ws
from mloop.errors import InvalidArgument, NotFound

DEFAULT_EXPERIMENT = "Default"
_FILE_KEYS = {"uri", "blobs", "experiment"}
_SCHEMES = ("sqlite", "postgresql", "postgres")


@dataclass(frozen=True, slots=True)
class Settings:
    """Where mloop keeps things and who is working."""

    uri: str
    blobs: str | None
    experiment: str
    user: str
    workspace: Path | None


def resolve_settings(
    uri: str | None = None,
    blobs: str | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from explicit ``uri``/``blobs`` (flags), the environment and the workspace."""
    env = os.environ if env is None else env
    folder = ws.find_workspace(cwd or Path.cwd())
    file = _read_workspace_file(folder) if folder else {}

    uri = uri or env.get("MLOOP_URI") or file.get("uri")
    if uri is None:
        if folder is None:
            raise NotFound(
                f"no mloop workspace in {cwd or Path.cwd()} or any folder above it: "
                "run `mloop init` here, or set MLOOP_URI"
            )
        uri = ws.database_uri(folder)
    uri = normalise_uri(uri)
    blobs = blobs or env.get("MLOOP_BLOBS") or file.get("blobs") or _default_blobs(uri, folder)
    return Settings(
        uri=uri,
        blobs=blobs,
        experiment=env.get("MLOOP_EXPERIMENT") or file.get("experiment") or DEFAULT_EXPERIMENT,
        user=env.get("MLOOP_USER") or _login(),
        workspace=folder,
    )


def store_scheme(uri: str) -> str | None:
    """``sqlite`` or ``postgresql`` for a SQL store URI (a driver suffix allowed), else None."""
    if "://" not in uri:
        return None
    scheme = uri.partition("://")[0].split("+", 1)[0].lower()
    return {"postgres": "postgresql"}.get(scheme, scheme) if scheme in _SCHEMES else None


def normalise_uri(uri: str) -> str:
    """Check the scheme of a store URI; SQLite paths become absolute (a bare path is one)."""
    if "://" not in uri:
        return f"sqlite:///{Path(uri).resolve()}"
    scheme = store_scheme(uri)
    if scheme is None:
        raise InvalidArgument(
            f"unsupported store URI scheme {uri.partition('://')[0]!r} in {hide_password(uri)!r}: "
            "use sqlite:///path/to/mloop.db or postgresql://user@host/db"
        )
    path = sqlite_path(uri)
    if path and path != ":memory:" and not path.startswith("/"):
        return f"{uri.partition('://')[0]}:///{Path(path).resolve()}"
    return uri


def sqlite_path(uri: str) -> str | None:
    """The file path of a SQLite URI (``sqlite:///rel.db`` → ``rel.db``), else None."""
    if store_scheme(uri) != "sqlite":
        return None
    return uri.partition("://")[2].removeprefix("/")


def hide_password(uri: str) -> str:
    """``uri`` with any password replaced by ``***``, for messages."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _default_blobs(uri: str, folder: Path | None) -> str | None:
    if folder is not None and uri == ws.database_uri(folder):
        return str(ws.blobs_root(folder))
    path = sqlite_path(uri)
    if path and path != ":memory:":
        return str(Path(path).parent / ws.BLOBS)
    return None


def _read_workspace_file(folder: Path) -> dict[str, str]:
    path = folder / ws.DIRNAME / ws.CONFIG
    if not path.exists():
        return {}
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"cannot read {path}: {exc}") from None
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise InvalidArgument(
            f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(_FILE_KEYS))}"
        )
    values = {key: str(value) for key, value in data.items()}
    for key in ("uri", "blobs"):
        if key in values:
            values[key] = _relative_to(values[key], folder)
    return values


def _relative_to(value: str, folder: Path) -> str:
    """Paths in the workspace file are relative to the workspace folder."""
    if value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
        return f"sqlite:///{(folder / value.removeprefix('sqlite:///')).resolve()}"
    if "://" in value:
        return value
    return str((folder / value).resolve())


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
