"""A Docker build context that serves a model package over HTTP.

    DIR/Dockerfile          python:<the package's Python>-slim, the requirements, the server
    DIR/requirements.txt    the package's pinned requirements
    DIR/serve.py            the HTTP server (mloop.models.entrypoint)
    DIR/model/              the package, every file verified

The package is loaded once before anything is written, so a package that is
altered, or that needs types nobody trusted, fails here rather than in the image.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

from mloop.errors import Conflict, InvalidArgument
from mloop.models import entrypoint
from mloop.models.load import LoadedModel, load
from mloop.models.package import MANIFEST_NAME, read_package
from mloop.tracking.client import Client

PORT = 8080
_TYPE_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")

_TEMPLATE = """\
# Serves the mloop model {title} over HTTP on port {port}:
#   docker build -t my-model . && docker run -p {port}:{port} my-model
#   curl -X POST localhost:{port}/predict -d '[{{"column": 1.0}}]'
FROM python:{python}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
{system}WORKDIR /srv
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY model/ model/
COPY serve.py .
RUN useradd --create-home --uid 10001 mloop
USER mloop
ENV MLOOP_MODEL=/srv/model PORT={port}{trusted}
EXPOSE {port}
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/health')"
CMD ["python", "serve.py"]
"""

# LightGBM's wheels need the OpenMP runtime, which slim images lack.
_SYSTEM = {
    "lightgbm": "RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \\\n"
    "    && rm -rf /var/lib/apt/lists/*\n",
}


def write_context(
    uri: str | os.PathLike[str],
    dest: Path,
    *,
    client: Client | None = None,
    trusted_types: Sequence[str] = (),
) -> Path:
    """Write a build context serving the package ``uri`` into ``dest`` (new or empty)."""
    _check_dest(dest)
    for name in trusted_types:
        if not name or not set(name) <= _TYPE_NAME:
            raise InvalidArgument(f"{name!r} is not a type name such as module.Class")
    model = load(uri, client=client, trusted_types=trusted_types)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".mloop-docker-{uuid.uuid4().hex}"
    try:
        _copy_package(model, staging / "model")
        (staging / "requirements.txt").write_text("".join(f"{r}\n" for r in model.requirements))
        shutil.copyfile(entrypoint.__file__, staging / "serve.py")
        (staging / "Dockerfile").write_text(dockerfile(model, trusted_types))
        if dest.is_dir():
            dest.rmdir()  # empty: checked above
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def dockerfile(model: LoadedModel, trusted_types: Sequence[str] = ()) -> str:
    """The Dockerfile text for ``model``."""
    major_minor = ".".join(model.info.python_version.split(".")[:2])
    trusted = f" MLOOP_TRUSTED_TYPES={','.join(trusted_types)}" if trusted_types else ""
    return _TEMPLATE.format(
        title=model.digest[:12] if model.digest else model.path.name,
        port=PORT,
        python=major_minor,
        system=_SYSTEM.get(model.flavor, ""),
        trusted=trusted,
    )


def _check_dest(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise Conflict(f"cannot write a build context to {dest}: it is a file")
    if dest.is_dir() and any(dest.iterdir()):
        raise Conflict(
            f"cannot write a build context to {dest}: the folder is not empty; "
            "choose a new or empty folder (nothing was written)"
        )


def _copy_package(model: LoadedModel, target: Path) -> None:
    """Copy the package's listed files and manifest, then check the copy."""
    for entry in (*model.info.files, MANIFEST_NAME):
        (target / entry).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(model.path / entry, target / entry)
    read_package(target)
