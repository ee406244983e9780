"""``mloop models dockerfile``: the build context's files, and its server run for real.

Docker cannot run here, so the context's ``serve.py`` is started with this Python
on a free port of 127.0.0.1, exactly as the image's CMD starts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from mloop.cli.models_package import register_commands
from mloop.errors import Conflict, IntegrityError
from mloop.models import ModelInfo, load, log_model, write_context
from mloop.models.package import read_package
from mloop.tracking.client import Client

Data = tuple[pd.DataFrame, pd.Series]


@pytest.fixture
def logged(client: Client, run_id: str, hgb: Any, acs: Data) -> ModelInfo:
    return log_model(client, run_id, hgb, input_example=acs[0].head(20))


def test_the_context_holds_a_dockerfile_requirements_server_and_package(
    client: Client, logged: ModelInfo, tmp_path: Path
) -> None:
    dest = write_context(logged.uri, tmp_path / "serving", client=client)
    assert sorted(p.name for p in dest.iterdir()) == [
        "Dockerfile",
        "model",
        "requirements.txt",
        "serve.py",
    ]
    model = load(logged.uri, client=client)
    assert (dest / "requirements.txt").read_text().split() == model.requirements
    assert read_package(dest / "model").files == model.info.files  # every file, verified
    text = (dest / "Dockerfile").read_text()
    python = ".".join(model.info.python_version.split(".")[:2])
    assert f"FROM python:{python}-slim" in text
    assert "RUN pip install -r requirements.txt" in text
    assert "COPY model/ model/" in text and 'CMD ["python", "serve.py"]' in text
    assert "libgomp1" not in text and "MLOOP_TRUSTED_TYPES" not in text


def test_lightgbm_and_trusted_types_reach_the_dockerfile(
    client: Client, run_id: str, lgbm: Any, acs: Data, tmp_path: Path
) -> None:
    info = log_model(client, run_id, lgbm, "lgbm", input_example=acs[0].head())
    dest = write_context(info.uri, tmp_path / "ctx", client=client, trusted_types=["a.B"])
    text = (dest / "Dockerfile").read_text()
    assert "apt-get install -y --no-install-recommends libgomp1" in text
    assert "MLOOP_TRUSTED_TYPES=a.B" in text


def test_the_destination_must_be_new_or_empty(
    client: Client, logged: ModelInfo, tmp_path: Path
) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(Conflict, match="not empty"):
        write_context(logged.uri, busy, client=client)
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(Conflict, match="it is a file"):
        write_context(logged.uri, tmp_path / "file", client=client)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (write_context(logged.uri, empty, client=client) / "Dockerfile").is_file()


def test_an_altered_package_writes_nothing(
    client: Client, logged: ModelInfo, tmp_path: Path
) -> None:
    cached = load(logged.uri, client=client).path / "model" / "model.skops"
    cached.chmod(0o644)
    cached.write_bytes(cached.read_bytes()[:-1])
    with pytest.raises(IntegrityError, match=r"model/model\.skops"):
        write_context(logged.uri, tmp_path / "out", client=client)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".mloop-docker")] == []


# -- the server, for real --------------------------------------------------------------------------
@pytest.fixture
def server(client: Client, logged: ModelInfo, tmp_path: Path) -> Iterator[str]:
    dest = write_context(logged.uri, tmp_path / "serving", client=client)
    command = [sys.executable, str(dest / "serve.py"), "--model", str(dest / "model")]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MLOOP_SERVE_QUIET": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"serve.py did not start: {process.communicate(timeout=10)[1]}")
        yield line.strip().rsplit(" ", 1)[1]  # "serving DIR on http://127.0.0.1:PORT"
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _call(url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_context_serves_the_model(
    client: Client, logged: ModelInfo, server: str, acs_new: pd.DataFrame
) -> None:
    status, health = _call(f"{server}/health")
    assert status == 200 and health["status"] == "ok" and health["flavor"] == "sklearn"
    rows = acs_new.head(25)
    records = json.loads(rows.to_json(orient="records"))  # categories arrive as text
    model = load(logged.uri, client=client)
    status, answer = _call(f"{server}/predict", records)
    assert status == 200
    assert answer["predictions"] == model.predict(rows).tolist()
    status, answer = _call(f"{server}/predict", {"records": records[:3], "proba": True})
    assert status == 200 and answer["classes"] == [0, 1]
    np.testing.assert_allclose(answer["probabilities"], model.predict_proba(rows.head(3)))


def test_the_server_says_what_is_wrong_with_a_request(server: str, acs_new: pd.DataFrame) -> None:
    records = json.loads(acs_new.head(2).drop(columns="SEX").to_json(orient="records"))
    status, answer = _call(f"{server}/predict", records)
    assert status == 400 and "missing column 'SEX'" in answer["error"]
    status, answer = _call(f"{server}/predict", {"rows": 1})
    assert status == 400 and "list of records" in answer["error"]
    status, _ = _call(f"{server}/nothing")
    assert status == 404


# -- the command -----------------------------------------------------------------------------------
def _models_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def models() -> None:
        """The models group."""

    register_commands(app)
    return app


def test_the_command_writes_the_context(workspace: Path, hgb: Any, acs: Data) -> None:
    import mloop

    with mloop.start_run(capture_env=False):
        info = mloop.models.log(hgb, input_example=acs[0].head())
    app = _models_app()
    done = CliRunner().invoke(app, ["dockerfile", info.uri, "serving"])
    assert done.exit_code == 0, done.output
    assert "docker build -t my-model serving" in done.output
    assert (workspace / "serving" / "Dockerfile").is_file()
    again = CliRunner().invoke(app, ["dockerfile", info.uri, "serving"])
    assert isinstance(again.exception, Conflict)
    assert "--trust" in CliRunner().invoke(app, ["dockerfile", "--help"]).output
