"""Monitors over a served deployment: windows, drift, decay, events, reports, alerts."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from bikemodel import FEATURES, TARGET, Bikes, replay
from mloop.errors import Conflict, InvalidArgument, NotFound
from mloop.monitoring import alerts
from mloop.monitoring.monitors import Monitors
from mloop.store.entities import now_ms
from servers import serving

CALENDAR = {"hr", "holiday", "weekday", "workingday"}
WEATHER = {"season", "temp", "atemp"}


@pytest.fixture
def monitors(deployed: Bikes) -> Monitors:
    return Monitors(deployed.client)


def test_windows_of_2012_traffic_drift_and_decay_against_2011(
    deployed: Bikes, monitors: Monitors
) -> None:
    monitors.create(
        "bikes-drift", deployment="bikes-api", reference="bikes@1", window="1500rows", target=TARGET
    )
    summer = deployed.later.iloc[3000:7500]  # May to mid-November 2012
    replay(deployed, summer)
    results = monitors.run("bikes-drift")
    assert [r.window_index for r in results] == [0, 1, 2] and sum(r.rows for r in results) == 4500
    for result in results:
        data = json.loads(result.result)
        drifted = {f["column"] for f in data["drift"]["features"] if f["drifted"]}
        assert drifted >= WEATHER and not drifted & CALENDAR, drifted
        assert data["performance"]["labelled"] == 1500
        assert data["performance"]["decayed"]  # 2012 rented more bikes than 2011 taught it
        assert data["target_drift"]["drifted"] and data["quality"]["passed"]
    kinds = [e.kind for e in deployed.client.store.monitors.events("bikes-drift")]
    assert kinds == ["drift", "decay"] * 3
    assert monitors.run("bikes-drift") == []  # idempotent: nothing new, no event twice
    assert len(deployed.client.store.monitors.events("bikes-drift")) == 6


def _log_at(bikes: Bikes, rows: pd.DataFrame, when: int) -> None:
    """Append ``rows`` to the prediction log as if served at ``when`` (ms), one request each."""
    from mloop.models import load
    from mloop.serving.predlog import Entry, PredictionLog
    from mloop.serving.served import ServedModel

    version = bikes.client.store.models.version("bikes", 1)
    served = ServedModel(
        version.uri,
        version.package,
        load(version.package, client=bikes.client),
        version_id=version.id,
        name="bikes",
        version=1,
    )
    log = PredictionLog(bikes.client)
    inputs = rows[FEATURES].reset_index(drop=True)
    log.append(
        Entry(
            served,
            "bikes-api",
            1,
            [f"r{when}-{i}" for i in range(len(rows))],
            [1] * len(rows),
            [when + i for i in range(len(rows))],
            [1.0] * len(rows),
            inputs,
            served.score(inputs),
        )
    )
    log.flush()


def test_time_windows_are_computed_once_they_are_over(deployed: Bikes, monitors: Monitors) -> None:
    monitors.create("hourly", deployment="bikes-api", reference="bikes@1", window="1h")
    hour = 3_600_000
    past = (now_ms() // hour - 3) * hour  # three hours ago, on the hour
    _log_at(deployed, deployed.reference.sample(300, random_state=0), past + 60_000)
    _log_at(deployed, deployed.later.iloc[4000:4300], past + hour + 60_000)
    _log_at(deployed, deployed.reference.sample(100, random_state=1), now_ms())  # this hour
    results = monitors.run("hourly")
    assert [r.rows for r in results] == [300, 300]  # the current hour is not over
    assert [r.drifted for r in results] == [False, True]  # 2011 itself, then July 2012
    assert monitors.run("hourly", until=now_ms() + 7_200_000) == []  # never before it ends
    assert [e.kind for e in deployed.client.store.monitors.events("hourly")] == ["drift"]


def test_a_late_label_waits_for_the_label_delay(deployed: Bikes, monitors: Monitors) -> None:
    monitors.create(
        "delayed",
        deployment="bikes-api",
        reference="bikes@1",
        window="100rows",
        target=TARGET,
        label_delay=timedelta(hours=1),
    )
    replay(deployed, deployed.later.iloc[:200])
    assert monitors.run("delayed") == []  # its labels may still come


def test_a_report_renders_in_chromium(deployed: Bikes, monitors: Monitors, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    monitors.create(
        "bikes-drift", deployment="bikes-api", reference="bikes@1", window="1000rows", target=TARGET
    )
    replay(deployed, deployed.later.iloc[4000:6000])
    results = monitors.run("bikes-drift")
    html = deployed.client.blobs.get_bytes(__import__("mloop").blobs.Digest(results[-1].report))
    page_file = tmp_path / "report.html"
    page_file.write_bytes(html)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route(
            "**/*",
            lambda route: (
                route.abort() if not route.request.url.startswith("file:") else route.continue_()
            ),
        )
        page.goto(page_file.as_uri())
        verdict = page.inner_text("#verdict")
        plots = page.eval_on_selector_all(
            "svg.plot",
            "svgs => svgs.map(s => [s.getBoundingClientRect().width,"
            " s.querySelectorAll('rect.bar, polyline.line').length])",
        )
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert verdict.startswith("drift:") and "temp" in verdict
    drifted = len(json.loads(results[-1].result)["drift"]["features"])
    assert len(plots) >= 3  # two timelines and the drifted columns
    assert all(width > 200 and marks > 0 for width, marks in plots), plots
    assert drifted and (tmp_path / "report.png").stat().st_size > 10_000


class _Receiver(BaseHTTPRequestHandler):
    got: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    fail_first: ClassVar[int] = 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.fail_first > 0:
            _Receiver.fail_first -= 1
            self.send_response(503)
        else:
            _Receiver.got.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_events_are_posted_signed_and_retried(
    deployed: Bikes, monitors: Monitors, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOOP_WEBHOOK_SECRET", "s3cret")
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        monitors.create(
            "bikes-drift",
            deployment="bikes-api",
            reference="bikes@1",
            window="1000rows",
            target=TARGET,
            webhook=url,
        )
        replay(deployed, deployed.later.iloc[5000:6000])
        monitors.run("bikes-drift")
        kinds = [json.loads(body)["kind"] for _, body in _Receiver.got]
        assert kinds == ["decay"]  # the drift alert got a 503: pending, sent again later
        alerts.deliver_due(monitors.store.monitors, now=now_ms() + 3_600_000)
    finally:
        server.shutdown()
        server.server_close()
    kinds = [json.loads(body)["kind"] for _, body in _Receiver.got]
    assert kinds == ["decay", "drift"]
    for headers, body in _Receiver.got:
        stamp, signature = headers["X-Mloop-Timestamp"], headers["X-Mloop-Signature"]
        assert alerts.verify(body, stamp, signature, "s3cret")
        payload = f"{stamp}.".encode() + body
        assert signature == "sha256=" + hmac.new(b"s3cret", payload, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        ({"deployment": "ghost"}, NotFound, "no deployment named 'ghost'"),
        ({"reference": "nope@1"}, NotFound, "nope"),
        ({"target": "rentals"}, InvalidArgument, "no target column 'rentals'"),
        ({"window": "fortnight"}, InvalidArgument, "not a window"),
        ({"window": "5rows"}, InvalidArgument, "10 to 100,000,000 rows"),
        ({"drift_share": 1.5}, InvalidArgument, "drift-share"),
        ({"thresholds": {"zscore": 1.0}}, InvalidArgument, "unknown test"),
        ({"webhook": "ftp://x"}, InvalidArgument, "http"),
        ({"columns": ["temp", "colour"]}, InvalidArgument, "no column 'colour'"),
    ],
)
def test_bad_monitors_are_refused_and_store_nothing(
    deployed: Bikes,
    monitors: Monitors,
    changes: dict[str, object],
    error: type[Exception],
    words: str,
) -> None:
    settings: dict[str, object] = {"deployment": "bikes-api", "reference": "bikes@1"}
    settings.update(changes)
    with pytest.raises(error, match=words):
        monitors.create("m", **settings)  # type: ignore[arg-type]
    assert monitors.all() == []


def test_a_monitor_name_is_taken_once(deployed: Bikes, monitors: Monitors) -> None:
    monitors.create("m", deployment="bikes-api", reference="bikes@1")
    with pytest.raises(Conflict, match="exists"):
        monitors.create("m", deployment="bikes-api", reference="bikes@1")
    with pytest.raises(NotFound, match="no monitor named 'x'"):
        monitors.run("x")
    assert np.isclose(len(monitors.all()), 1)


def test_gc_keeps_what_a_monitor_needs_and_a_bad_label_blocks_nothing(
    deployed: Bikes, monitors: Monitors
) -> None:
    monitors.create(
        "m", deployment="bikes-api", reference="bikes@1", window="100rows", target=TARGET
    )
    deployed.client.garbage_collect(delete=True, min_age=timedelta(0))
    with serving(deployed.client, "bikes-api") as server:
        body = json.loads(deployed.later.iloc[:200][FEATURES].to_json(orient="records"))
        answer = server.http.post("/predict", json=body).json()
        labels: list[object] = [int(v) for v in deployed.later.iloc[:200][TARGET]]
        labels[5] = "n/a"  # a label that is not a number
        server.http.post("/feedback", json={"request_id": answer["request_id"], "labels": labels})
    results = monitors.run("m")
    assert len(results) == 2
    assert json.loads(results[0].result)["performance"]["labelled"] == 100


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"thresholds": {"ks": 0}}, "positive number"),
        ({"thresholds": {"ks": 5}}, "a p-value"),
        ({"thresholds": {"wasserstein": float("nan")}}, "positive number"),
        ({"method": "chisquare"}, "is numeric: chisquare compares categories"),
        ({"reference": "bikes.csv"}, "not a file"),
        ({"label_delay": -1}, "label delay"),
    ],
)
def test_settings_that_could_never_run_are_refused(
    deployed: Bikes, monitors: Monitors, changes: dict[str, object], words: str
) -> None:
    settings: dict[str, object] = {"deployment": "bikes-api", "reference": "bikes@1"}
    settings.update(changes)
    with pytest.raises(InvalidArgument, match=words):
        monitors.create("m", **settings)  # type: ignore[arg-type]
    assert monitors.all() == []
