"""``mloop demo`` end to end: the loop closes on real data, and the decisions are the right ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from mloop.demo import run_demo
from mloop.registry import Registry
from mloop.serving.deployments import Deployments
from mloop.tracking.client import Client
from mloop.workspace import blobs_root, database_uri

pytestmark = pytest.mark.slow


def test_the_demo_retrains_on_drift_promotes_through_a_canary_and_gates_out_a_broken_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = Console(width=200, record=True, force_terminal=False)
    monkeypatch.chdir(tmp_path)  # a relative workspace, as `make demo` gives
    outcome = run_demo(Path("demo"), console)
    decided = [(e.policy, e.kind) for e in outcome.events if e.kind != "armed"]
    assert decided == [
        ("bikes-retrain", "triggered"),
        ("bikes-retrain", "skipped"),  # the decay event of the same windows: a run is on
        ("bikes-retrain", "trained"),
        ("bikes-retrain", "gate_passed"),
        ("bikes-retrain", "canary"),
        ("bikes-retrain", "promoted"),
        ("bikes-retrain", "rebased"),  # the monitor now compares with bikes@2
        ("bikes-experimental", "triggered"),
        ("bikes-experimental", "trained"),
        ("bikes-experimental", "gated_out"),
    ]
    triggered = outcome.events[[e.kind for e in outcome.events].index("triggered")]
    assert "drift" in triggered.message and "temp" in triggered.message
    assert outcome.failed_requests == 0
    with Client(database_uri(outcome.workspace), blobs=str(blobs_root(outcome.workspace))) as c:
        assert Registry(c).version("bikes@champion").version == 2
        assert c.store.monitors.get("bikes-watch").reference == "bikes@2"
        history = Deployments(c).history("bikes-api")
        assert [len(r.primary) for r in history] == [1, 2, 1]  # release, canary, promoted
    assert {p.name for p in outcome.reports} == {
        "bikes-watch.html",
        "bikes-champion-card.html",
        "decisions.json",
    }
    text = console.export_text()
    assert "gated_out" in text and "promoted" in text
