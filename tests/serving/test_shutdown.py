"""`mloop serve` as a real process: SIGTERM under load loses no logged prediction."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from mloop.serving import predictions
from servers import Registered, free_port, load_until_gone, serve_process, wait_ready


@pytest.mark.slow
def test_sigterm_under_load_loses_no_logged_prediction(registered: Registered) -> None:
    port = free_port()
    # Nothing is flushed while serving: every row must be written on the way out.
    proc = serve_process(
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
                target=load_until_gone, args=(f"http://127.0.0.1:{port}", body, answered, errors)
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
    proc = serve_process(
        registered, "models:/bc/1", port, "--workers", "2", "--flush-seconds", "0.2"
    )
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
        proc = serve_process(registered, "models:/bc/1", free_port(), *extra)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode != 0 and words in output.decode()
    proc = serve_process(registered, "not a name", free_port())
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "not a valid deployment name" in output.decode()
