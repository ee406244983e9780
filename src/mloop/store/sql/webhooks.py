"""Webhook deliveries of monitor events, in SQL: one row per event, its state and attempts."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from mloop.errors import InvalidArgument, NotFound
from mloop.store import validate
from mloop.store.entities import (
    DeliveryState,
    MonitorEvent,
    WebhookDelivery,
    WebhookTarget,
)
from mloop.store.sql.schema import (
    deployments,
    monitor_events,
    monitor_results,
    monitors,
    webhook_deliveries,
)


def check_target(target: WebhookTarget) -> None:
    if not target.url.startswith(("http://", "https://")) or "\x00" in target.url:
        raise InvalidArgument(f"webhook {target.url!r}: an http:// or https:// URL")
    validate.key("webhook secret variable", target.secret_env)


def add_pending(
    conn: sa.Connection, event_ids: Sequence[int], target: WebhookTarget, at: int
) -> None:
    """Record the deliveries of new events as pending, due at once."""
    rows = [
        {
            "event_id": event_id,
            "url": target.url,
            "secret_env": target.secret_env,
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "last_error": None,
            "next_attempt_at": at,
            "updated_at": at,
        }
        for event_id in event_ids
    ]
    if rows:
        conn.execute(webhook_deliveries.insert(), rows)


def due(conn: sa.Connection, now: int, limit: int) -> list[WebhookDelivery]:
    return _deliveries(
        conn,
        sa.and_(
            webhook_deliveries.c.state == DeliveryState.PENDING.value,
            webhook_deliveries.c.next_attempt_at <= now,
        ),
        limit,
    )


def one(conn: sa.Connection, event_id: int) -> WebhookDelivery:
    found = _deliveries(conn, webhook_deliveries.c.event_id == event_id, 1)
    if not found:
        raise NotFound(f"monitor event {event_id} has no webhook delivery")
    return found[0]


def record_attempt(
    conn: sa.Connection,
    event_id: int,
    state: DeliveryState,
    *,
    error: str | None,
    next_attempt_at: int,
    at: int,
) -> None:
    done = conn.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.event_id == event_id)
        .values(
            state=DeliveryState(state).value,
            attempts=webhook_deliveries.c.attempts + 1,
            last_error=None if error is None else error[:2000],
            next_attempt_at=next_attempt_at,
            updated_at=at,
        )
    )
    if done.rowcount == 0:
        raise NotFound(f"monitor event {event_id} has no webhook delivery")


def _deliveries(
    conn: sa.Connection, where: sa.ColumnElement[bool], limit: int
) -> list[WebhookDelivery]:
    rows = conn.execute(
        sa.select(
            webhook_deliveries,
            monitor_events,
            monitors.c.name.label("monitor_name"),
            deployments.c.name.label("deployment_name"),
            monitor_results.c.window_start,
            monitor_results.c.window_end,
        )
        .join(monitor_events, monitor_events.c.id == webhook_deliveries.c.event_id)
        .join(monitors, monitors.c.id == monitor_events.c.monitor_id)
        .join(deployments, deployments.c.id == monitors.c.deployment_id)
        .join(monitor_results, monitor_results.c.id == monitor_events.c.result_id)
        .where(where)
        .order_by(webhook_deliveries.c.event_id)
        .limit(limit)
    ).all()
    return [
        WebhookDelivery(
            event=MonitorEvent(
                r.event_id, r.monitor_name, r.result_id, r.kind, r.message, r.details, r.created_at
            ),
            deployment=r.deployment_name,
            window_start=r.window_start,
            window_end=r.window_end,
            target=WebhookTarget(r.url, r.secret_env),
            state=DeliveryState(r.state),
            attempts=r.attempts,
            last_error=r.last_error,
            next_attempt_at=r.next_attempt_at,
        )
        for r in rows
    ]
