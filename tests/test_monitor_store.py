"""Monitors, their window results and events in the metadata store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

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
from mloop.tracking.client import Client


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


def test_a_baseline_written_the_older_way_is_read_and_kept_by_gc(
    store_uri: str, tmp_path: Path
) -> None:
    """An mloop from before the baseline column (schema 0007) still running after the
    upgrade writes a monitor's baseline into its settings only: it is still the baseline,
    and garbage collection keeps its blob."""
    folder = tmp_path / "reference"
    folder.mkdir()
    (folder / "bikes.csv").write_text("temp,count\n0.3,12\n")
    with Client(store_uri, blobs=str(tmp_path / "blobs")) as client:
        store = client.store
        manifest = client.blobs.put_tree(folder)
        version, _ = store.datasets.add_version(
            store.datasets.ensure("bikes").id,
            NewVersion(str(manifest), DatasetKind.FOLDER, 1, 19, None, None, "ada", 1),
        )
        store.deployments.create(
            "api", [Route("models:/m@champion", 100)], user="ada", created_at=1
        )
        baseline = client.blobs.put_bytes(b"the reference's statistics")
        settings = json.dumps({"drift_share": 0.5, "baseline": str(baseline)})
        store.monitors.create(
            NewMonitor("m", "api", "bikes@1", version.id, "1d", settings, "ada", 2)
        )
        assert store.monitors.get("m").baseline == str(baseline)
        report = client.garbage_collect(delete=True, min_age=timedelta(0))
        assert report.unreferenced == ()
        assert client.blobs.get_bytes(baseline) == b"the reference's statistics"
