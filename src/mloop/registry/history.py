"""Reading an alias's history: where it pointed at a moment, and where a rollback goes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mloop.errors import Conflict
from mloop.store import AliasAction, AliasEvent


def version_at(events: Iterable[AliasEvent], alias: str, at: int) -> int | None:
    """The version ``alias`` pointed at, at time ``at`` (ms); None if it pointed nowhere.

    A move at exactly ``at`` counts as done. ``events`` are in store order (oldest first).
    """
    found: int | None = None
    for event in events:
        if event.alias != alias:
            continue
        if event.created_at > at:
            break
        found = event.version
    return found


def rollback_target(events: Sequence[AliasEvent], alias: str, usable: set[int]) -> int:
    """The version a rollback of ``alias`` moves to.

    That is the newest version the alias held before its current one, skipping
    every version a rollback already moved away from, so rolling back twice goes
    two good versions back rather than returning to the bad one. Only versions in
    ``usable`` (not archived) qualify.
    """
    mine = [e for e in events if e.alias == alias]
    if not mine or mine[-1].version is None:
        raise Conflict(f"@{alias} points at no version: there is nothing to roll back")
    rejected = {mine[-1].version}
    rejected |= {e.previous for e in mine if e.action is AliasAction.ROLLBACK and e.previous}
    for event in reversed(mine[:-1]):
        if event.version in usable and event.version not in rejected:
            return event.version
    raise Conflict(
        f"@{alias} has no earlier version to roll back to "
        f"(it has held {', '.join(str(v) for v in _held(mine))})"
    )


def _held(events: Sequence[AliasEvent]) -> list[int]:
    seen: list[int] = []
    for event in events:
        if event.version is not None and event.version not in seen:
            seen.append(event.version)
    return seen
