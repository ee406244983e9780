"""``mloop.registry.register(...)``, ``promote``, ``rollback``: the registry on the default client.

Inside an active run the client is the run's; elsewhere the workspace's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mloop.registry.client import CHAMPION, Registry
from mloop.registry.lineage import Lineage
from mloop.store import AliasEvent, ModelVersion
from mloop.tracking.client import Client
from mloop.tracking.fluent import active_run, default_client


def registry(client: Client | None = None) -> Registry:
    """The :class:`Registry` over ``client`` (default: the active run's, else the default)."""
    if client is None:
        run = active_run()
        client = run.client if run is not None else default_client()
    return Registry(client)


def register(
    source: Any,
    name: str,
    *,
    description: str = "",
    tags: Mapping[str, str] | None = None,
) -> ModelVersion:
    """Register a logged model package (what ``mloop.models.log`` returned, a ``runs:/`` URI
    or a run id) as the next version of ``name``."""
    return registry().register(source, name, description=description, tags=tags)


def promote(ref: str, alias: str = CHAMPION, *, reason: str = "") -> AliasEvent:
    """Point ``alias`` (default: champion) at the version ``ref`` names."""
    return registry().promote(ref, alias, reason=reason)


def rollback(name: str, alias: str = CHAMPION, *, reason: str = "") -> AliasEvent:
    """Move ``alias`` (default: champion) back to the version it held before."""
    return registry().rollback(name, alias, reason=reason)


def version_at(name: str, alias: str, at: datetime | str | int) -> ModelVersion | None:
    """The version ``alias`` pointed at, at ``at``."""
    return registry().version_at(name, alias, at)


def lineage(ref: str) -> Lineage:
    """What the version ``ref`` came from: run, code, data, params, evaluations."""
    return registry().lineage(ref)
