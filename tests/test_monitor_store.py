"""Monitors, their window results and events in the metadata store, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mloop.errors import Conflict, InvalidArgument, NotFound
from mloop.store import (
    DatasetKind,
    NewMonitor,
    NewMonitorEvent,
    NewMonitorResult,
    NewVersion,
    Route,
    Store,
    open_store,
)


@pytest.fixture
def store(store_uri: str) -> Iterator[Store]:
    s = open_store(store_uri)
    dataset = s.datasets.ensure("bikes")
    version, _ = s.datasets.add_version(
        dataset.id,
        NewVersion(
            digest="ab" * 32,
            kind=DatasetKind.TABLE,
            files=1,
            size=10,
            rows=5,
            profile=None,
            user="ada",
            created_at=1,
        ),
    )
    s.deployments.create(
        "bikes-api", [Route("models:/bikes@champion", 100)], user="ada", created_at=1
    )
    s.monitors.create(NewMonitor("drift", "bikes-api", "bikes@1", version.id, "1d", "{}", "ada", 2))
    yield s
    s.close()


def result(index: int, drifted: bool = False) -> NewMonitorResult:
    return NewMonitorResult(
        index,
        index * 10,
        index * 10 + 9,
        100,
        drifted,
        0.5 if drifted else 0,
        '{"drift": null}',
        None,
        1_000 + index,
    )


def test_results_are_kept_once_per_window_with_their_events(store: Store) -> None:
    store.monitors.add_result(
        "drift", result(2, True), [NewMonitorEvent("drift", "temp moved", '{"drifted": ["temp"]}')]
    )
    store.monitors.add_result("drift", result(1))
    with pytest.raises(Conflict, match="window 2"):
        store.monitors.add_result(
            "drift", result(2, True), [NewMonitorEvent("drift", "again", "{}")]
        )
    assert [r.window_index for r in store.monitors.results("drift")] == [1, 2]
    events = store.monitors.events("drift")
    assert [(e.kind, e.message) for e in events] == [("drift", "temp moved")]
    assert store.monitors.events(after=events[-1].id) == []
    assert store.monitors.get("drift").deployment == "bikes-api"


def test_bad_monitors_results_and_events_change_nothing(store: Store) -> None:
    version_id = store.monitors.get("drift").reference_version_id
    bad = [
        (
            NewMonitor("drift", "bikes-api", "bikes@1", version_id, "1d", "{}", "ada", 3),
            Conflict,
            "exists",
        ),
        (
            NewMonitor("no spaces", "bikes-api", "bikes@1", version_id, "1d", "{}", "ada", 3),
            InvalidArgument,
            "monitor name",
        ),
        (
            NewMonitor("m2", "ghost", "bikes@1", version_id, "1d", "{}", "ada", 3),
            NotFound,
            "no deployment",
        ),
        (
            NewMonitor("m2", "bikes-api", "bikes@9", 999, "1d", "{}", "ada", 3),
            NotFound,
            "dataset version",
        ),
    ]
    for new, error, words in bad:
        with pytest.raises(error, match=words):
            store.monitors.create(new)
    with pytest.raises(InvalidArgument, match="unknown event kind"):
        store.monitors.add_result("drift", result(1), [NewMonitorEvent("panic", "x", "{}")])
    with pytest.raises(NotFound, match="no monitor named 'ghost'"):
        store.monitors.add_result("ghost", result(1))
    assert [m.name for m in store.monitors.list_all()] == ["drift"]
    assert store.monitors.results("drift") == [] and store.monitors.events() == []
