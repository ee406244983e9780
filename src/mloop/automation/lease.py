"""An agent's holds on policies: a lease in the store, so one agent acts on a policy at
a time. A hold is renewed whenever the agent looks at the policy, and by a thread while
a long step (training) runs; a stopped agent releases its holds, and one that died
loses them ``LEASE_MS`` after it last renewed them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mloop.errors import MloopError
from mloop.store.entities import now_ms
from mloop.tracking.client import Client

logger = logging.getLogger("mloop.automation")

LEASE_MS = 120_000


class Holds:
    def __init__(self, client: Client, owner: str, project: str) -> None:
        self.client = client
        self.owner = owner
        self.project = project

    def hold(self, policy: str) -> bool:
        """Take or renew the hold on ``policy``; False while another agent has it."""
        now = now_ms()
        return self.client.store.automation.lease(
            policy, self.owner, now + LEASE_MS, now, self.project
        )

    def held_elsewhere(self, policy: str) -> bool:
        holder = self.client.store.automation.holder(policy, now_ms(), self.project)
        return holder is not None and holder != self.owner

    @contextmanager
    def keeping(self, policy: str) -> Iterator[threading.Event]:
        """Renew the hold on ``policy`` in the background while the block runs; the
        event it gives is set if the hold was lost meanwhile (another agent has it)."""
        done, lost = threading.Event(), threading.Event()

        def renew() -> None:
            while not done.wait(LEASE_MS / 4000):
                try:
                    if not self.hold(policy):
                        lost.set()
                except MloopError as exc:
                    logger.warning("mloop agent: could not renew %s: %s", policy, exc)

        keeper = threading.Thread(target=renew, name="mloop-agent-lease", daemon=True)
        keeper.start()
        try:
            yield lost
        finally:
            done.set()
            keeper.join()

    def release(self, policies: list[str]) -> None:
        for name in policies:
            try:
                self.client.store.automation.release(name, self.owner, self.project)
            except MloopError as exc:
                logger.warning("mloop agent: could not release %s: %s", name, exc)
