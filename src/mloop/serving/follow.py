"""Following what a server serves: poll the store, load changes in the background, swap.

The routing in use is one immutable object; a change of deployment revision or of
an alias a route follows builds a new one (loading and warming only the packages
not loaded yet) on a worker thread, then replaces the reference in one step.
Requests already being scored finish on the models they started with, so a swap
fails and drops nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from mloop.serving.payload import DEFAULT_LIMITS, Limits
from mloop.serving.served import Routing
from mloop.serving.source import Source, Target, build
from mloop.tracking.client import Client

logger = logging.getLogger("mloop.serving")


class Follower:
    def __init__(
        self,
        client: Client,
        source: Source,
        *,
        poll_seconds: float = 1.0,
        limits: Limits = DEFAULT_LIMITS,
        on_swap: Callable[[Routing], None] = lambda routing: None,
    ) -> None:
        self.client = client
        self.source = source
        self.poll_seconds = poll_seconds
        self.limits = limits
        self.on_swap = on_swap
        self.routing: Routing | None = None
        self.target: Target | None = None
        self.error: str | None = None

    async def run(self) -> None:
        """Load, then keep following (a fixed model is loaded once)."""
        while True:
            await self.step()
            if self.routing is not None and not self.source.follows:
                return
            await asyncio.sleep(self.poll_seconds)

    async def step(self) -> bool:
        """Check once; True when the routing changed."""
        try:
            target = await asyncio.to_thread(self.source.resolve, self.client)
            if target == self.target:
                return False
            loaded = {m.package or m.label: m for m in self.routing.models} if self.routing else {}
            routing = await asyncio.to_thread(build, self.client, target, loaded, self.limits)
        except Exception as exc:  # keep serving what is loaded; say why once
            message = f"{type(exc).__name__}: {exc}"
            if message != self.error:
                logger.warning("mloop: cannot follow %s: %s", self.source.text, message)
            self.error = message
            return False
        self.routing, self.target, self.error = routing, target, None
        self.on_swap(routing)
        return True
