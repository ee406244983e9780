"""Webhook deliveries against real receivers on 127.0.0.1: a receiver that is down, one
that redirects, one that never answers, one that refuses; and signatures that cannot be
replayed. On SQLite and PostgreSQL (the delivery state is in the metadata store)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mloop.monitoring import alerts
from mloop.store import (
    DatasetKind,
    DeliveryState,
    NewMonitor,
    NewMonitorEvent,
    NewMonitorResult,
    NewVersion,
    Route,
    Store,
    WebhookTarget,
    open_store,
)
from mloop.store.entities import now_ms

SECRET = "s3cret"
LATER = 3_600_000  # an hour on: every retry is due


class Receiver:
    """An HTTP server that answers every POST with ``status`` and records what it got."""

    def __init__(self, status: int = 204, location: str | None = None, port: int = 0) -> None:
        self.status, self.location = status, location
        self.got: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.got.append(
                    (dict(self.headers), self.rfile.read(int(self.headers["Content-Length"])))
                )
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def store(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("MLOOP_WEBHOOK_SECRET", SECRET)
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


def alert(store: Store, url: str, count: int = 1, window: int = 1) -> list[int]:
    """A window's result with ``count`` events, delivered to ``url``; their ids."""
    events = [NewMonitorEvent("drift", f"event {n}", json.dumps({"n": n})) for n in range(count)]
    result = NewMonitorResult(window, 0, 9, 100, True, 0.5, '{"drift": null}', None, 1_000)
    store.monitors.add_result(
        "drift", result, events, webhook=WebhookTarget(url, "MLOOP_WEBHOOK_SECRET")
    )
    return [
        e.id
        for e in store.monitors.events("drift")
        if e.result_id == store.monitors.results("drift")[-1].id
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_alert_waits_for_a_receiver_that_is_down_and_arrives_once_it_is_up(store: Store) -> None:
    port = free_port()
    ids = alert(store, f"http://127.0.0.1:{port}/hook", count=2)
    alerts.deliver_due(store.monitors)
    first, second = (store.monitors.delivery(i) for i in ids)
    assert first.state is DeliveryState.PENDING and first.attempts == 1
    assert "cannot reach it" in (first.last_error or "")
    assert second.attempts == 0  # the receiver was down: not tried again in the same call
    again = alerts.deliver_due(store.monitors)  # the first is not due again yet
    assert [d.event.id for d in again] == ids[1:]

    receiver = Receiver(port=port)
    try:
        alerts.deliver_due(store.monitors, now=now_ms() + LATER)
    finally:
        receiver.close()
    assert [store.monitors.delivery(i).state for i in ids] == [DeliveryState.DELIVERED] * 2
    bodies = [json.loads(body) for _, body in receiver.got]
    assert [b["event_id"] for b in bodies] == ids and bodies[0]["deployment"] == "bikes-api"
    for headers, body in receiver.got:
        assert headers["X-Mloop-Delivery"] in {str(i) for i in ids}
        assert alerts.verify(
            body, headers["X-Mloop-Timestamp"], headers["X-Mloop-Signature"], SECRET
        )


def test_a_redirect_is_a_failure_and_is_not_followed(store: Store) -> None:
    elsewhere = Receiver()
    redirecting = Receiver(status=302, location=elsewhere.url)
    try:
        [event] = alert(store, redirecting.url)
        alerts.deliver_due(store.monitors)
    finally:
        redirecting.close()
        elsewhere.close()
    assert len(redirecting.got) == 1 and elsewhere.got == []  # no GET, no signature sent on
    delivery = store.monitors.delivery(event)
    assert delivery.state is DeliveryState.PENDING and "302 redirect" in (delivery.last_error or "")


def test_a_receiver_that_never_answers_costs_one_timeout_per_call(store: Store) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel accepts connections; nobody ever answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        ids = alert(store, url, count=5)
        started = time.monotonic()
        alerts.deliver_due(store.monitors, budget=2.0, timeout=0.5)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert elapsed < 1.5
    assert [store.monitors.delivery(i).attempts for i in ids] == [1, 0, 0, 0, 0]
    assert all(store.monitors.delivery(i).state is DeliveryState.PENDING for i in ids)


def test_the_budget_bounds_a_call_and_the_rest_waits(store: Store) -> None:
    silent = [socket.socket() for _ in range(4)]
    try:
        ids = []
        for n, sock in enumerate(silent):
            sock.bind(("127.0.0.1", 0))
            sock.listen(4)
            ids += alert(store, f"http://127.0.0.1:{sock.getsockname()[1]}/", window=n + 1)
        started = time.monotonic()
        alerts.deliver_due(store.monitors, budget=1.0, timeout=0.4)
        elapsed = time.monotonic() - started
    finally:
        for sock in silent:
            sock.close()
    assert elapsed < 1.5
    assert sum(store.monitors.delivery(i).attempts for i in ids) < 4  # the budget ran out


def test_a_refusal_is_final(store: Store) -> None:
    refusing = Receiver(status=410)
    try:
        [event] = alert(store, refusing.url)
        alerts.deliver_due(store.monitors)
        alerts.deliver_due(store.monitors, now=now_ms() + LATER)
    finally:
        refusing.close()
    assert len(refusing.got) == 1
    assert store.monitors.delivery(event).state is DeliveryState.ABANDONED


def test_a_replayed_or_altered_alert_fails_verification() -> None:
    body = b'{"kind": "drift"}'
    sent = int(time.time())
    signature = alerts.sign(body, SECRET, sent)
    assert alerts.verify(body, str(sent), signature, SECRET)
    later = sent + alerts.TOLERANCE + 1
    assert not alerts.verify(body, str(sent), signature, SECRET, now=later)  # replayed late
    assert not alerts.verify(body, str(later), signature, SECRET, now=later)  # time moved on
    assert not alerts.verify(b'{"kind": "decay"}', str(sent), signature, SECRET)
    assert not alerts.verify(body, str(sent), signature, "another secret")
    assert not alerts.verify(body, None, signature, SECRET)
