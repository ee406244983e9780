"""Trigger events: what each kind of trigger has seen since its cursor.

Every trigger keeps a cursor in the store: the schedule's last tick, the dataset's
newest version number, the monitor's newest event id. A trigger is armed (its cursor
set to "now") the first time an agent sees it, so history does not fire. A firing
covers everything past the cursor and moves the cursor in the same transaction that
opens its job, so each event fires exactly once, across agents and restarts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mloop.automation.cron import Cron
from mloop.automation.policy import Policy, Trigger
from mloop.errors import InvalidArgument, NotFound
from mloop.store import Store


@dataclass(frozen=True, slots=True)
class Firing:
    """One trigger's new events, taken together: they open (or skip) one job."""

    trigger: str
    dedupe: str
    cursor: str
    """The trigger's cursor once this firing is taken."""
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


def check_triggers(store: Store, policy: Policy, project: str) -> None:
    """Refuse triggers that name a dataset or monitor that does not exist."""
    for trigger in policy.triggers:
        try:
            if trigger.kind == "new_data":
                store.datasets.get(trigger.target, project)
            elif trigger.kind in ("drift", "decay"):
                store.monitors.get(trigger.target, project)
        except NotFound as exc:
            raise InvalidArgument(
                f"policy {policy.name}: the {trigger.kind} trigger names {trigger.target!r}, "
                f"which does not exist ({exc})"
            ) from None


def current_cursor(store: Store, trigger: Trigger, now: int, project: str) -> str:
    """Where a trigger armed now starts counting."""
    if trigger.kind == "schedule":
        return str(now)
    if trigger.kind == "new_data":
        versions = store.datasets.versions(trigger.target, project)
        return str(versions[0].version if versions else 0)
    if trigger.kind in ("drift", "decay"):
        events = store.monitors.events(trigger.target, project=project)
        return str(events[-1].id if events else 0)
    raise InvalidArgument(f"a {trigger.kind} trigger has no cursor")


def firing(store: Store, trigger: Trigger, cursor: str, now: int, project: str) -> Firing | None:
    """What ``trigger`` has seen past ``cursor``, or None."""
    if trigger.kind == "schedule":
        return _schedule(trigger, int(cursor), now)
    if trigger.kind == "new_data":
        return _new_data(store, trigger, int(cursor), project)
    if trigger.kind in ("drift", "decay"):
        return _monitor(store, trigger, int(cursor), project)
    return None


def _schedule(trigger: Trigger, cursor: int, now: int) -> Firing | None:
    tick = Cron.parse(trigger.target).latest(now)
    if tick <= cursor:
        return None
    at = datetime.fromtimestamp(tick / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")
    return Firing(
        trigger.key,
        f"{trigger.key}@{at}",
        str(tick),
        f"the schedule {trigger.target!r} came due at {at}",
        {"tick": tick},
    )


def _new_data(store: Store, trigger: Trigger, cursor: int, project: str) -> Firing | None:
    versions = store.datasets.versions(trigger.target, project)
    fresh = [v for v in versions if v.version > cursor]
    if not fresh:
        return None
    newest = fresh[0]
    return Firing(
        trigger.key,
        f"{trigger.key}@{newest.version}",
        str(newest.version),
        f"dataset {newest.ref} was added" + (f" ({newest.rows} rows)" if newest.rows else ""),
        {"versions": sorted(v.ref for v in fresh)},
    )


def _monitor(store: Store, trigger: Trigger, cursor: int, project: str) -> Firing | None:
    events = store.monitors.events(trigger.target, after=cursor, project=project)
    if not events:
        return None
    wanted = [e for e in events if e.kind == trigger.kind]
    last = events[-1].id
    if not wanted:  # other kinds only: move past them without firing
        return Firing(trigger.key, "", str(last), "")
    newest = wanted[-1]
    drifted = sorted({c for e in wanted for c in json.loads(e.details).get("drifted", [])})
    more = f" (and {len(wanted) - 1} earlier {trigger.kind} events)" if len(wanted) > 1 else ""
    return Firing(
        trigger.key,
        f"{trigger.key}#{newest.id}",
        str(last),
        f"{newest.message}{more}",
        {"events": [e.id for e in wanted], "drifted": drifted},
    )
