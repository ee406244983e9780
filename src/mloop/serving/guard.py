"""What a scoring server's connections may hold: a cap on open connections, and a deadline
for a request's headers.

uvicorn closes a keep-alive connection that stays idle after an answer, but a connection
that never sends (or never finishes) its headers is held for good, and its
``limit_concurrency`` is only checked once a request has arrived: 1,100 half-open
connections were all held for minutes. So the HTTP protocol is wrapped:

- a connection over ``max_connections`` gets ``503`` (``Retry-After: 1``) and is closed at
  once, before anything is read;
- a connection has ``header_timeout`` seconds, from its opening and from each answer, to
  deliver the headers of its next request, or it is closed.

The body of a request is read by the app, under its own limit (``--max-body-bytes``).
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

_BUSY_BODY = b'{"error":"the server has too many open connections: try again in a second"}'
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"retry-after: 1\r\nconnection: close\r\ncontent-length: "
    + str(len(_BUSY_BODY)).encode()
    + b"\r\n\r\n"
    + _BUSY_BODY
)


class _Guard(asyncio.Protocol):
    """Mixed in before uvicorn's HTTP protocol (which provides the attributes below); the
    limits come from a :class:`GuardedConfig`."""

    config: GuardedConfig
    connections: set[Any]
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if len(self.connections) > self.config.max_connections:
            self.transport.write(BUSY)
            self.transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        cast(Any, super()).on_response_complete()
        self._arm()  # the next request's headers have the same time

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.config.header_timeout, self._expire)

    def _expire(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if cycle is None or cycle.response_complete:  # no request came in whole
            self.transport.close()


def _guarded(base: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    # a module attribute of the same name, so worker processes can unpickle it
    return type(f"Guarded{base.__name__}", (_Guard, base), {"__module__": __name__})


GuardedH11Protocol = _guarded(H11Protocol)
if importlib.util.find_spec("httptools") is not None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    GuardedHttpToolsProtocol = _guarded(HttpToolsProtocol)
else:
    GuardedHttpToolsProtocol = GuardedH11Protocol


class GuardedConfig(uvicorn.Config):
    """uvicorn's settings, with the guarded HTTP protocol (httptools when installed)."""

    def __init__(
        self, app: Any, *, header_timeout: float, max_connections: int, **settings: Any
    ) -> None:
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        super().__init__(app, http=GuardedHttpToolsProtocol, **settings)
