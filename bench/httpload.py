"""A closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next
request as soon as the previous answer arrived. Small and cheap, so the client takes
little of the CPU the server needs on a small machine."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.latencies)
        n = len(ordered)
        return {
            "requests": n,
            "rps": round(n / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": round(ordered[n // 2] * 1000, 3) if n else 0.0,
            "p99_ms": round(ordered[min(n - 1, int(n * 0.99))] * 1000, 3) if n else 0.0,
            "errors": sum(c for s, c in self.statuses.items() if s != 200),
        }


def request_bytes(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(host: str, port: int, payload: bytes, until: float, load: Load) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            load.latencies.append(time.perf_counter() - start)
            load.statuses[status] = load.statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _run(host: str, port: int, payload: bytes, concurrency: int, seconds: float) -> Load:
    load = Load()
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(
        *(_connection(host, port, payload, until, load) for _ in range(concurrency))
    )
    load.elapsed = time.perf_counter() - start
    return load


def run_load(
    host: str, port: int, path: str, body: bytes, *, concurrency: int, seconds: float
) -> dict[str, float]:
    """Drive ``POST path`` with ``body`` for ``seconds``; requests/s and latency percentiles."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    payload = request_bytes(host, port, path, body)
    return runner(_run(host, port, payload, concurrency, seconds)).summary()
