"""Reading alias history: the version at a moment, and where a rollback goes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mloop.errors import Conflict, InvalidArgument
from mloop.registry.history import rollback_target, version_at
from mloop.registry.times import to_ms
from mloop.store import AliasAction, AliasEvent


def events(*moves: tuple[int | None, AliasAction], alias: str = "champion") -> list[AliasEvent]:
    found: list[AliasEvent] = []
    previous: int | None = None
    for n, (version, action) in enumerate(moves, start=1):
        found.append(AliasEvent(n, "m", alias, version, previous, action, "u", n * 10, ""))
        previous = version
    return found


SET, PROMOTE, ROLLBACK, REMOVE = (
    AliasAction.SET,
    AliasAction.PROMOTE,
    AliasAction.ROLLBACK,
    AliasAction.REMOVE,
)


def test_version_at_a_moment() -> None:
    history = events((1, PROMOTE), (2, PROMOTE), (None, REMOVE), (3, SET))
    assert [version_at(history, "champion", t) for t in (5, 10, 15, 20, 30, 35, 40, 99)] == [
        None,
        1,
        1,
        2,
        None,
        None,
        3,
        3,
    ]
    assert version_at(history, "challenger", 99) is None


def test_rollback_goes_back_past_versions_already_rolled_back_from() -> None:
    history = events((1, PROMOTE), (2, PROMOTE), (3, PROMOTE))
    assert rollback_target(history, "champion", {1, 2, 3}) == 2
    history = events((1, PROMOTE), (2, PROMOTE), (3, PROMOTE), (2, ROLLBACK))
    assert rollback_target(history, "champion", {1, 2, 3}) == 1
    history = events((1, PROMOTE), (2, PROMOTE), (3, PROMOTE), (2, ROLLBACK), (1, ROLLBACK))
    with pytest.raises(Conflict, match="no earlier version"):
        rollback_target(history, "champion", {1, 2, 3})


def test_rollback_skips_archived_versions_and_says_when_there_is_nowhere_to_go() -> None:
    history = events((1, PROMOTE), (2, PROMOTE), (3, PROMOTE))
    assert rollback_target(history, "champion", {1, 3}) == 1
    with pytest.raises(Conflict, match="no earlier version to roll back to"):
        rollback_target(history, "champion", {3})
    with pytest.raises(Conflict, match="nothing to roll back"):
        rollback_target(events((1, SET), (None, REMOVE)), "champion", {1})
    with pytest.raises(Conflict, match="nothing to roll back"):
        rollback_target([], "champion", {1})


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 50)), min_size=1, max_size=20))
def test_version_at_agrees_with_replaying_up_to_the_moment(moves: list[tuple[int, int]]) -> None:
    history = [
        AliasEvent(i, "m", "a", v, None, SET, "u", t, "")
        for i, (v, t) in enumerate(sorted(moves, key=lambda m: m[1]))
    ]
    for at in range(-1, 52):
        held = [e.version for e in history if e.created_at <= at]
        assert version_at(history, "a", at) == (held[-1] if held else None)


def test_times_as_users_write_them() -> None:
    assert to_ms(1234) == 1234
    assert to_ms("2026-03-03T14:00Z") == int(
        datetime(2026, 3, 3, 14, tzinfo=UTC).timestamp() * 1000
    )
    assert to_ms("2026-03-03 14:00") == int(datetime(2026, 3, 3, 14).timestamp() * 1000)
    for bad in ("yesterday", "", "2026-13-01", True):
        with pytest.raises(InvalidArgument):
            to_ms(bad)  # type: ignore[arg-type]
