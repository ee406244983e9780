"""What an HTTP client can see and hold: answers name no path of the server, and idle or
half-sent connections are closed (a header timeout and a connection cap)."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import httpx
import pytest

from servers import Registered, serve_on_free_port, stop, until, wait_ready


def _not_ready_answer(http: httpx.Client) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answer = http.get("/ready")
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        if answer.status_code == 503 and "loading" not in answer.text:
            return answer
        time.sleep(0.1)
    raise AssertionError("the server never said why it is not ready")


def test_not_ready_answers_name_no_server_path(registered: Registered, tmp_path: Path) -> None:
    blobs = Path(str(registered.client.settings.blobs))
    shutil.rmtree(blobs)  # the model's package is gone: the server cannot load it
    blobs.mkdir()
    with serve_on_free_port(registered, "models:/bc/1") as (proc, port):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            ready = _not_ready_answer(http)
            predict = http.post("/predict", json=registered.X.head(1).to_dict(orient="records"))
        output = stop(proc)
    for answer in (ready, predict):
        assert answer.status_code == 503
        assert "no model package" in answer.json()["error"]
        assert str(tmp_path) not in answer.text, answer.text
    assert str(blobs) in output  # the server's own log says where it looked


def _closed(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (what it sent before closing is read and dropped)."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except ConnectionError:
        return True


@pytest.mark.slow
def test_half_open_connections_are_capped_and_timed_out(registered: Registered) -> None:
    extra = ("--max-connections", "50", "--header-timeout", "1")
    held: list[socket.socket] = []
    with serve_on_free_port(registered, "models:/bc/1", *extra) as (proc, port):
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=10) as http:
            wait_ready(http, 60)
        try:
            for i in range(80):  # half a request line, then nothing
                sock = socket.create_connection(("127.0.0.1", port))
                sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n" if i % 2 else b"")
                sock.setblocking(False)
                held.append(sock)
            # beyond the cap, a connection is answered 503 and closed at once ...
            until(lambda: sum(_closed(s) for s in held[50:]) == 30, 5, "over the cap, open")
            # ... and the ones that never finished their headers are closed after the timeout
            started = time.monotonic()
            until(lambda: all(_closed(s) for s in held[:50]), 10, "half-open connections held")
            assert time.monotonic() - started < 5
            with httpx.Client(base_url=url, timeout=10) as http:
                body = registered.X.head(1).to_dict(orient="records")
                assert http.post("/predict", json=body).status_code == 200
        finally:
            for sock in held:
                sock.close()
        stop(proc)
