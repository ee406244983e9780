"""Model URIs: which stored package a reference names.

    runs:/<run id or 4+ hex prefix>/<artifact path>    a package logged by a run
    models:/<name>/<version>, models:/<name>@<alias>    a registered model version
    <64 hex characters>                                 a package digest

(A local package folder is read directly: see :func:`mloop.models.load`.)
"""

from __future__ import annotations

import re

from mloop.blobs import Digest
from mloop.errors import InvalidArgument, NotFound
from mloop.models.refs import resolve_version
from mloop.tracking.artifacts import artifact_path
from mloop.tracking.client import Client

RUNS = "runs:/"
MODELS = "models:/"
FORMS = (
    "runs:/RUN_ID/PATH, models:/NAME/VERSION, models:/NAME@ALIAS, "
    "a package digest or a package folder"
)

_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_stored_uri(uri: str) -> bool:
    """Whether ``uri`` names a stored package (as opposed to a local folder)."""
    return uri.startswith((RUNS, MODELS)) or _DIGEST.fullmatch(uri) is not None


def resolve_package(client: Client, uri: str) -> Digest:
    """The digest of the package ``uri`` names."""
    if not isinstance(uri, str):
        raise InvalidArgument(f"a model URI is a string, got {type(uri).__name__}")
    if uri.startswith(MODELS):
        return _registered(client, uri)
    if uri.startswith(RUNS):
        return _logged(client, uri)
    if _DIGEST.fullmatch(uri):
        return Digest(uri)
    raise InvalidArgument(f"{uri!r} names no model: use {FORMS}")


# -- models:/ ----------------------------------------------------------------------------
def _registered(client: Client, uri: str) -> Digest:
    """A registered model version's package."""
    return Digest(resolve_version(client.store, uri).package)


# -- runs:/ --------------------------------------------------------------------------------
def parse_run_uri(uri: str) -> tuple[str, str]:
    """``runs:/4da5/model`` → ("4da5", "model")."""
    ref, _, path = uri.removeprefix(RUNS).lstrip("/").partition("/")
    if not ref or not path.strip("/"):
        raise InvalidArgument(
            f"{uri!r}: a run's model is runs:/RUN_ID/ARTIFACT_PATH, e.g. runs:/4da5/model"
        )
    return ref, artifact_path(path)


def _logged(client: Client, uri: str) -> Digest:
    ref, path = parse_run_uri(uri)
    run = client.get_run(ref)
    entries = client.list_artifacts(run.id)
    for entry in entries:
        if entry.path == path:
            if not entry.is_dir:
                raise InvalidArgument(
                    f"artifact {path!r} of run {run.id} is a file, not a model package"
                )
            return Digest(entry.digest)
    folders = sorted(entry.path for entry in entries if entry.is_dir)
    hint = f"; its folder artifacts: {', '.join(folders)}" if folders else ""
    raise NotFound(f"run {run.id} has no artifact {path!r}{hint}")
