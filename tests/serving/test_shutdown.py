"""`mloop serve` as a real process: SIGTERM under load loses no logged prediction."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from mloop.serving import predictions
from servers import Registered, free_port, wait_ready


def _serve(registered: Registered, source: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    settings = registered.client.settings
    command = [
        sys.executable,
        "-m",
        "mloop",
        "--uri",
        settings.uri,
        "--blobs",
        str(settings.blobs),
        "serve",
        source,
        "--port",
        str(port),
        *extra,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _load(url: str, body: list[dict[str, object]], answered: list[str], errors: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        while True:
            try:
                answer = http.post("/predict", json=body)
            except httpx.HTTPError as exc:  # the server is gone: stop
                errors.append(type(exc).__name__)
                return
            if answer.status_code != 200:
                errors.append(str(answer.status_code))
                return
            answered.append(answer.json()["request_id"])


@pytest.mark.slow
def test_sigterm_under_load_loses_no_logged_prediction(registered: Registered) -> None:
    port = free_port()
    # Nothing is flushed while serving: every row must be written on the way out.
    proc = _serve(
        registered,
        "models:/bc@champion",
        port,
        "--flush-rows",
        "1000000",
        "--flush-seconds",
        "3600",
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            wait_ready(http, 60)
        body = registered.X.head(1).to_dict(orient="records")
        answered: list[str] = []
        errors: list[str] = []
        clients = [
            threading.Thread(
                target=_load, args=(f"http://127.0.0.1:{port}", body, answered, errors)
            )
            for _ in range(4)
        ]
        for thread in clients:
            thread.start()
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        for thread in clients:
            thread.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # uvicorn re-raises the signal once it shut down gracefully
    assert proc.returncode in (0, -signal.SIGTERM), output.decode()
    assert len(answered) > 100
    logged = predictions(client=registered.client)
    assert set(answered) <= set(logged["request_id"])
    assert len(logged) == len(answered)  # and nothing twice


@pytest.mark.slow
def test_two_workers_serve_and_log(registered: Registered) -> None:
    port = free_port()
    proc = _serve(registered, "models:/bc/1", port, "--workers", "2", "--flush-seconds", "0.2")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            wait_ready(http, 60)
            ids = [
                http.post("/predict", json=registered.X.head(1).to_dict(orient="records")).json()[
                    "request_id"
                ]
                for _ in range(50)
            ]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert set(predictions(client=registered.client)["request_id"]) == set(ids)


def test_serve_refuses_bad_options_before_starting(registered: Registered, tmp_path: Path) -> None:
    for extra, words in ((["--workers", "0"], "--workers"), (["--poll", "0"], "--poll")):
        proc = _serve(registered, "models:/bc/1", free_port(), *extra)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode != 0 and words in output.decode()
    proc = _serve(registered, "not a name", free_port())
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "not a valid deployment name" in output.decode()
