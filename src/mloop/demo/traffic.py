"""The demo's scoring server (``mloop serve`` in a child process) and the traffic it gets:
logged hours replayed as requests, each followed by its true count as feedback."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson
import pandas as pd

from mloop.demo.bikes import FEATURES, TARGET
from mloop.errors import BackendUnavailable

BATCH = 24
"""Hours per request: a day at a time."""


@dataclass
class Server:
    port: int

    def post(self, connection: http.client.HTTPConnection, path: str, body: Any) -> Any:
        connection.request("POST", path, orjson.dumps(body), {"Content-Type": "application/json"})
        answer = connection.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise BackendUnavailable(f"{path} answered {answer.status}: {data[:200]!r}")
        return orjson.loads(data)

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)


@contextmanager
def serving(workspace: Path, deployment: str, uri: str, blobs: str) -> Iterator[Server]:
    """``mloop serve DEPLOYMENT`` of the store ``uri`` on a free port of 127.0.0.1,
    stopped (its log written) on the way out."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = [sys.executable, "-m", "mloop", "--uri", uri, "--blobs", blobs]
    command += ["serve", deployment, "--port", str(port)]
    command += ["--flush-seconds", "0.5", "--poll", "0.3"]
    process = subprocess.Popen(command, cwd=workspace)
    try:
        _wait_ready(port, process)
        yield Server(port)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BackendUnavailable(f"mloop serve stopped at start (exit {process.returncode})")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/ready")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.1)
    raise BackendUnavailable("mloop serve was not ready within 60 s")


@dataclass
class Replay:
    """What a replay sent, and which model answered how many requests."""

    rows: int = 0
    answered: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def replay(server: Server, hours: pd.DataFrame, stop: threading.Event | None = None) -> Replay:
    """Send ``hours`` a day per request with its counts as feedback; with ``stop``, go
    round again until it is set."""
    seen = Replay()
    records = cast(list[dict[str, Any]], hours[FEATURES].astype(object).to_dict(orient="records"))
    counts = [int(v) for v in hours[TARGET]]
    connection = server.connect()
    try:
        while True:
            for start in range(0, len(records), BATCH):
                if stop is not None and stop.is_set():
                    return seen
                _send(server, connection, records[start : start + BATCH], counts[start:], seen)
            if stop is None:
                return seen
    finally:
        connection.close()


def _send(
    server: Server,
    connection: http.client.HTTPConnection,
    batch: list[dict[str, Any]],
    counts: list[int],
    seen: Replay,
) -> None:
    try:
        answer = server.post(connection, "/predict", batch)
        labels = counts[: len(batch)]
        server.post(connection, "/feedback", {"request_id": answer["request_id"], "labels": labels})
    except (OSError, BackendUnavailable) as exc:
        seen.failures.append(str(exc))
        return
    seen.rows += len(batch)
    seen.answered[answer["model"]] = seen.answered.get(answer["model"], 0) + 1
