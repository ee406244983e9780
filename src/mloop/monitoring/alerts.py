"""Alerts: a log line for every monitor event, and an optional signed webhook that delivers.

Each event of a monitor with a webhook gets a delivery, recorded as pending in the
metadata store in the same transaction as the event, so a crash or a receiver that
is down loses nothing. :func:`deliver_due` sends the pending deliveries that are due:
after every monitor run and on every agent tick, within a time budget per call. A
delivery is

- **delivered** when the receiver answers 2xx;
- **retried** later (``RETRY`` after the first failure, doubling up to ``MAX_RETRY``)
  on a connection error, a timeout, a 3xx (redirects are never followed: the body and
  its signature go to the URL configured, nowhere else), 408, 429 or 5xx;
- **abandoned** on any other 4xx (the receiver refused it) or after ``MAX_ATTEMPTS``.

A receiver that times out (or refuses connections) is not tried again in the same
call: its other deliveries wait for the next one, so a hanging receiver costs one
``timeout``, not one per event.

**Signature.** When the environment variable the monitor names
(``MLOOP_WEBHOOK_SECRET`` by default) is set, every POST carries
``X-Mloop-Timestamp: <unix seconds>`` and
``X-Mloop-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``; a
receiver verifies both with :func:`verify` (tolerance ``TOLERANCE`` seconds), which
rejects an altered body, a replayed request once the window has passed, and a
timestamp moved to make an old request look new. ``X-Mloop-Delivery`` is the
event's id: a redelivered event keeps it, so a receiver can drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from mloop.store import DeliveryState, MonitorStore, WebhookDelivery
from mloop.store.entities import now_ms

logger = logging.getLogger("mloop.monitoring")

SIGNATURE_HEADER = "X-Mloop-Signature"
TIMESTAMP_HEADER = "X-Mloop-Timestamp"
DELIVERY_HEADER = "X-Mloop-Delivery"
DEFAULT_SECRET_ENV = "MLOOP_WEBHOOK_SECRET"
TOLERANCE = 300
"""Seconds a receiver accepts between a request's timestamp and its own clock (as Stripe)."""
TIMEOUT = 5.0
"""Seconds one attempt may take (connecting, and waiting for each read)."""
BUDGET = 15.0
"""Seconds one :func:`deliver_due` call may spend; what is left waits for the next."""
RETRY = 30_000
MAX_RETRY = 3_600_000
MAX_ATTEMPTS = 20
"""With RETRY doubling to MAX_RETRY, about 16 hours of trying."""
_RETRYABLE_4XX = {408, 429}


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The signature of ``body`` sent at ``timestamp`` (unix seconds)."""
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    secret: str,
    *,
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether a received alert is authentic and fresh: what a receiver should check,
    with the raw body and the two headers, before trusting it."""
    if not timestamp or not signature or not timestamp.isdecimal():
        return False
    sent = int(timestamp)
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(body, secret, sent), signature)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one delivery attempt came to."""

    state: DeliveryState
    error: str | None = None
    receiver_down: bool = False
    """The receiver could not be reached or did not answer: skip it for this call."""


def payload(delivery: WebhookDelivery) -> dict[str, Any]:
    """The JSON body of an event's alert."""
    event = delivery.event
    return {
        "monitor": event.monitor,
        "deployment": delivery.deployment,
        "kind": event.kind,
        "message": event.message,
        "event_id": event.id,
        "window_start": delivery.window_start,
        "window_end": delivery.window_end,
        "details": json.loads(event.details),
    }


def deliver_due(
    store: MonitorStore,
    *,
    budget: float = BUDGET,
    timeout: float = TIMEOUT,
    now: int | None = None,
) -> list[WebhookDelivery]:
    """Send the pending deliveries due at ``now`` (ms; default: now), within ``budget``
    seconds; returns those attempted. Failures are recorded for a later call, never
    raised."""
    deadline = time.monotonic() + budget
    down: set[str] = set()
    attempted = []
    for delivery in store.deliveries_due(now_ms() if now is None else now):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if delivery.target.url in down:
            continue
        outcome = attempt(delivery, timeout=min(timeout, left))
        if outcome.receiver_down:
            down.add(delivery.target.url)
        _record(store, delivery, outcome)
        attempted.append(delivery)
    return attempted


def attempt(delivery: WebhookDelivery, *, timeout: float = TIMEOUT) -> Outcome:
    """POST one event's alert to its webhook, once."""
    url = delivery.target.url
    body = json.dumps(payload(delivery), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Mloop-Event": delivery.event.kind,
        DELIVERY_HEADER: str(delivery.event.id),
    }
    secret = os.environ.get(delivery.target.secret_env)
    if secret:
        stamp = int(time.time())
        headers |= {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(body, secret, stamp)}
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return _refused(exc.code, exc.headers.get("Location"))
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(DeliveryState.PENDING, f"cannot reach it: {reason}", receiver_down=True)
    if 200 <= status < 300:
        return Outcome(DeliveryState.DELIVERED)
    return _refused(status, None)


def _refused(status: int, location: str | None) -> Outcome:
    if 300 <= status < 400:
        where = location or "?"
        return Outcome(
            DeliveryState.PENDING,
            f"HTTP {status} redirect to {where}: not followed; "
            "configure the webhook with the final URL",
        )
    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
        return Outcome(DeliveryState.ABANDONED, f"HTTP {status}: the receiver refused it")
    return Outcome(DeliveryState.PENDING, f"HTTP {status}")


def _record(store: MonitorStore, delivery: WebhookDelivery, outcome: Outcome) -> None:
    now = now_ms()
    tries = delivery.attempts + 1
    state = outcome.state
    if state is DeliveryState.PENDING and tries >= MAX_ATTEMPTS:
        state = DeliveryState.ABANDONED
    url, event = delivery.target.url, delivery.event
    if state is DeliveryState.PENDING:
        logger.info(
            "mloop: webhook %s, event %d: %s; sent again later", url, event.id, outcome.error
        )
    elif state is DeliveryState.ABANDONED:
        logger.warning(
            "mloop: webhook %s did not take event %d after %d attempts (%s); given up",
            url,
            event.id,
            tries,
            outcome.error,
        )
    retry = min(RETRY * 2 ** (tries - 1), MAX_RETRY)
    store.record_attempt(event.id, state, error=outcome.error, next_attempt_at=now + retry, at=now)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is the answer, not a pointer to follow: urllib then raises it as HTTPError."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())
