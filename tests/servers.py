"""Helpers for scoring-server tests: registered models, and real servers on 127.0.0.1."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pandas as pd
import uvicorn

from mloop.models import log_model
from mloop.registry import Registry
from mloop.serving.app import create_app
from mloop.serving.options import ServeOptions
from mloop.tracking.client import Client


@dataclass
class Registered:
    client: Client
    registry: Registry
    X: pd.DataFrame
    y: pd.Series
    models: dict[str, object]
    """The fitted estimators: version 1 is "gbc" (@champion), version 2 "lr" (@challenger)."""


def register_models(
    client: Client, cancer: tuple[pd.DataFrame, pd.Series], fitted: dict[str, object]
) -> Registered:
    X, y = cancer
    registry = Registry(client)
    for name in ("gbc", "lr"):
        run = client.create_run(capture_env=False)
        info = log_model(client, run.id, fitted[name], input_example=X.head(3))
        registry.register(info.uri, "bc")
    registry.set_alias("bc/1", "champion")
    registry.set_alias("bc/2", "challenger")
    return Registered(client, registry, X, y, fitted)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    url: str
    http: httpx.Client
    server: uvicorn.Server

    def predict(
        self, rows: pd.DataFrame | list[dict[str, object]], **kwargs: object
    ) -> httpx.Response:
        body = rows.to_dict(orient="records") if isinstance(rows, pd.DataFrame) else rows
        return self.http.post("/predict", json=body, **kwargs)  # type: ignore[arg-type]


@contextmanager
def serving(client: Client, source: str, **options: object) -> Iterator[Running]:
    """A real uvicorn server on 127.0.0.1 in a thread, ready (models loaded) on entry."""
    settings = {"poll_seconds": 0.2, "flush_seconds": 0.5, **options}
    app = create_app(ServeOptions(source, **settings), client=client)  # type: ignore[arg-type]
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", loop="asyncio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=30) as http:
        wait_ready(http)
        try:
            yield Running(url, http, server)
        finally:
            server.should_exit = True
            thread.join(30)
    assert not thread.is_alive(), "the server did not stop"


def wait_ready(http: httpx.Client, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if http.get("/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the server at {http.base_url} was not ready within {seconds} s")


def until(condition: Callable[[], bool], seconds: float = 10, message: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(message or "the condition did not hold in time")


def serve_process(
    registered: Registered, source: str, port: int, *extra: str
) -> subprocess.Popen[bytes]:
    """`mloop serve SOURCE` as a real process on ``port``, on the registered models' stores
    (its output, stdout and stderr together, is read with ``communicate``)."""
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


@contextmanager
def serve_on_free_port(
    registered: Registered, source: str, *extra: str
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """:func:`serve_process` on a free port: the process and its port; killed on the way
    out if it still runs."""
    port = free_port()
    proc = serve_process(registered, source, port, *extra)
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def stop(proc: subprocess.Popen[bytes], seconds: float = 60) -> str:
    """SIGTERM, then wait for the server to finish: its output."""
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=seconds)[0].decode()


def load_until_gone(
    url: str, body: list[dict[str, object]], answered: list[str], errors: list[str]
) -> None:
    """Send ``body`` to /predict, one request after the other, until the server stops
    answering 200; the request ids answered go to ``answered``, the reason it stopped to
    ``errors``."""
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


def start_load(
    url: str, body: list[dict[str, object]], clients: int = 8
) -> tuple[list[str], list[threading.Thread]]:
    """``clients`` threads running :func:`load_until_gone`: the request ids answered (filled
    as the answers come) and the threads."""
    answered: list[str] = []
    threads = [
        threading.Thread(target=load_until_gone, args=(url, body, answered, []))
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    return answered, threads


def logged_ids(client: Client) -> list[str]:
    """The request ids of every row in the prediction log."""
    from mloop.serving import predictions

    rows = predictions(client=client)
    return [] if rows.empty else rows["request_id"].tolist()
