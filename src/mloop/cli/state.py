"""What every command shares: global options, the console, and a lazily opened client."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer
from rich.console import Console

from mloop.cli.render import SafeConsole
from mloop.data import DataClient
from mloop.registry.client import Registry
from mloop.tracking.client import Client


@dataclass
class State:
    uri: str | None = None
    blobs: str | None = None
    debug: bool = False
    console: Console = field(default_factory=SafeConsole)
    _client: Client | None = None
    _data: DataClient | None = None

    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.uri, blobs=self.blobs)
        return self._client

    def data(self) -> DataClient:
        if self._data is None:
            self._data = DataClient(self.client())
        return self._data

    def registry(self) -> Registry:
        return Registry(self.client())

    def close(self) -> None:
        if self._data is not None:
            self._data.close()
        if self._client is not None:
            self._client.close()


def state(ctx: typer.Context) -> State:
    """The shared state of the command being run."""
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    return obj
