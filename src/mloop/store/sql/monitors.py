"""Monitors, their window results and events, in SQL.

A monitor's baseline is its own column since schema revision 0008; before, it was
the ``baseline`` key of the monitor's settings JSON. An mloop of revision 0007
still running after the upgrade writes it the old way, so a monitor without the
column falls back on that key, for reading and for garbage collection alike.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import Conflict, InvalidArgument, NotFound
from mloop.store import validate
from mloop.store.entities import (
    BlobUser,
    DeliveryState,
    Monitor,
    MonitorEvent,
    MonitorResult,
    NewMonitor,
    NewMonitorEvent,
    NewMonitorResult,
    WebhookDelivery,
    WebhookTarget,
    now_ms,
)
from mloop.store.sql import webhooks
from mloop.store.sql.datasets import require_version
from mloop.store.sql.deployments import find_deployment
from mloop.store.sql.engine import writer
from mloop.store.sql.errors import translate_errors
from mloop.store.sql.projects import ensure_project
from mloop.store.sql.schema import (
    deployments,
    monitor_events,
    monitor_results,
    monitors,
    projects,
)

EVENT_KINDS = ("drift", "decay", "quality")


@translate_errors
class SqlMonitorStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def create(self, new: NewMonitor, project: str = "default") -> Monitor:
        validate.monitor_name(new.name)
        validate.key("user name", new.user)
        validate.key("window", new.window)
        _json_text("settings", new.settings)
        if new.baseline is not None:
            validate.digest("monitor baseline", new.baseline)
        with self._writer.begin() as conn:
            project_id = ensure_project(conn, project, new.created_at)
            deployment_id = find_deployment(conn, new.deployment, project)
            require_version(conn, new.reference_version_id)
            taken = conn.scalar(
                sa.select(monitors.c.id).where(
                    monitors.c.project_id == project_id, monitors.c.name == new.name
                )
            )
            if taken is not None:
                raise Conflict(f"monitor {new.name!r} exists: pick another name")
            conn.execute(
                monitors.insert().values(
                    project_id=project_id,
                    name=new.name,
                    deployment_id=deployment_id,
                    reference=new.reference,
                    reference_version_id=new.reference_version_id,
                    window=new.window,
                    settings=new.settings,
                    baseline=new.baseline,
                    user_name=new.user,
                    created_at=new.created_at,
                )
            )
        return self.get(new.name, project)

    def rebase(
        self,
        name: str,
        reference: str,
        reference_version_id: int,
        settings: str,
        project: str = "default",
        *,
        baseline: str | None = None,
    ) -> Monitor:
        validate.key("reference", reference)
        _json_text("settings", settings)
        if baseline is not None:
            validate.digest("monitor baseline", baseline)
        with self._writer.begin() as conn:
            monitor_id = _monitor_id(conn, name, project)
            require_version(conn, reference_version_id)
            conn.execute(
                monitors.update()
                .where(monitors.c.id == monitor_id)
                .values(
                    reference=reference,
                    reference_version_id=reference_version_id,
                    settings=settings,
                    baseline=baseline,
                )
            )
        return self.get(name, project)

    def get(self, name: str, project: str = "default") -> Monitor:
        with self._engine.connect() as conn:
            found = _monitors(conn, project, name)
        if not found:
            raise NotFound(
                f"no monitor named {name!r} in project {project!r}: "
                "`mloop monitor list` shows the monitors there are"
            )
        return found[0]

    def list_all(self, project: str = "default") -> list[Monitor]:
        with self._engine.connect() as conn:
            return _monitors(conn, project)

    def add_result(
        self,
        name: str,
        new: NewMonitorResult,
        events: Sequence[NewMonitorEvent] = (),
        project: str = "default",
        *,
        webhook: WebhookTarget | None = None,
    ) -> MonitorResult:
        """Record a window's result with its events, atomically; a window computed
        already is a Conflict (so a rerun cannot count an event twice)."""
        _json_text("result", new.result)
        if new.report is not None:
            validate.digest("report", new.report)
        for event in events:
            if event.kind not in EVENT_KINDS:
                raise InvalidArgument(f"unknown event kind {event.kind!r}: {EVENT_KINDS}")
            _json_text("event details", event.details)
        if webhook is not None:
            webhooks.check_target(webhook)
        with self._writer.begin() as conn:
            monitor_id = _monitor_id(conn, name, project)
            exists = conn.scalar(
                sa.select(monitor_results.c.id).where(
                    monitor_results.c.monitor_id == monitor_id,
                    monitor_results.c.window_index == new.window_index,
                )
            )
            if exists is not None:
                raise Conflict(f"monitor {name!r} has a result for window {new.window_index}")
            inserted = conn.execute(
                monitor_results.insert().values(
                    monitor_id=monitor_id,
                    window_index=new.window_index,
                    window_start=new.window_start,
                    window_end=new.window_end,
                    rows=new.rows,
                    drifted=new.drifted,
                    share=new.share,
                    result=new.result,
                    report=new.report,
                    created_at=new.created_at,
                )
            ).inserted_primary_key
            assert inserted is not None
            result_id = int(inserted[0])
            event_ids = []
            for event in events:
                added = conn.execute(
                    monitor_events.insert().values(
                        monitor_id=monitor_id,
                        result_id=result_id,
                        kind=event.kind,
                        message=event.message,
                        details=event.details,
                        created_at=new.created_at,
                    )
                ).inserted_primary_key
                assert added is not None
                event_ids.append(int(added[0]))
            if webhook is not None:
                webhooks.add_pending(conn, event_ids, webhook, now_ms())
            return _results(conn, monitor_results.c.id == result_id)[0]

    def deliveries_due(self, now: int, limit: int = 100) -> list[WebhookDelivery]:
        with self._engine.connect() as conn:
            return webhooks.due(conn, now, limit)

    def delivery(self, event_id: int) -> WebhookDelivery:
        with self._engine.connect() as conn:
            return webhooks.one(conn, event_id)

    def record_attempt(
        self,
        event_id: int,
        state: DeliveryState,
        *,
        error: str | None,
        next_attempt_at: int,
        at: int,
    ) -> None:
        with self._writer.begin() as conn:
            webhooks.record_attempt(
                conn, event_id, state, error=error, next_attempt_at=next_attempt_at, at=at
            )

    def results(self, name: str, project: str = "default") -> list[MonitorResult]:
        """Every window's result, oldest window first."""
        with self._engine.connect() as conn:
            return _results(conn, monitor_results.c.monitor_id == _monitor_id(conn, name, project))

    def events(
        self, name: str | None = None, *, after: int = 0, project: str = "default"
    ) -> list[MonitorEvent]:
        """Events (of one monitor) with an id above ``after``, oldest first."""
        with self._engine.connect() as conn:
            where = monitor_events.c.id > after
            if name is not None:
                where = sa.and_(
                    where, monitor_events.c.monitor_id == _monitor_id(conn, name, project)
                )
            rows = conn.execute(
                sa.select(monitor_events, monitors.c.name.label("monitor_name"))
                .join(monitors, monitors.c.id == monitor_events.c.monitor_id)
                .where(where)
                .order_by(monitor_events.c.id)
            ).all()
        return [
            MonitorEvent(
                r.id, r.monitor_name, r.result_id, r.kind, r.message, r.details, r.created_at
            )
            for r in rows
        ]

    def blob_references(self) -> tuple[set[str], set[str]]:
        """Reports, and each monitor's baseline (either form)."""
        with self._engine.connect() as conn:
            reports = conn.scalars(
                sa.select(monitor_results.c.report).where(monitor_results.c.report.is_not(None))
            ).all()
            rows = conn.execute(sa.select(monitors.c.baseline, monitors.c.settings)).all()
        baselines = {_baseline(r.baseline, r.settings) for r in rows}
        return {str(r) for r in reports} | {b for b in baselines if b is not None}, set()

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        wanted = sorted(digests)
        with self._engine.connect() as conn:
            baselines = conn.execute(
                sa.select(monitors.c.name, monitors.c.baseline)
                .where(monitors.c.baseline.in_(wanted))
                .order_by(monitors.c.name)
            ).all()
            reports = conn.execute(
                sa.select(monitors.c.name, monitor_results.c.window_index, monitor_results.c.report)
                .join(monitors, monitors.c.id == monitor_results.c.monitor_id)
                .where(monitor_results.c.report.in_(wanted))
                .order_by(monitors.c.name, monitor_results.c.window_index)
            ).all()
        return [BlobUser(str(r.baseline), "monitor", str(r.name)) for r in baselines] + [
            BlobUser(str(r.report), "monitor report", f"{r.name} window {r.window_index}")
            for r in reports
        ]


def _baseline(column: str | None, settings: str) -> str | None:
    """The baseline's digest: the column, or the settings' key in a row written before it."""
    if column is not None:
        return column
    try:
        digest = json.loads(settings).get("baseline")
    except (ValueError, AttributeError):
        return None
    return digest if isinstance(digest, str) and digest else None


def _json_text(what: str, text: object) -> None:
    if not isinstance(text, str) or "\x00" in text:
        raise InvalidArgument(f"a monitor's {what} is JSON text")


def _monitor_id(conn: sa.Connection, name: str, project: str) -> int:
    found = _monitors(conn, project, name)
    if not found:
        raise NotFound(f"no monitor named {name!r}: `mloop monitor list` shows them")
    return found[0].id


def _monitors(conn: sa.Connection, project: str, name: str | None = None) -> list[Monitor]:
    query = (
        sa.select(monitors, deployments.c.name.label("deployment_name"))
        .join(projects, projects.c.id == monitors.c.project_id)
        .join(deployments, deployments.c.id == monitors.c.deployment_id)
        .where(projects.c.name == project)
        .order_by(monitors.c.name)
    )
    if name is not None:
        query = query.where(monitors.c.name == name)
    return [
        Monitor(
            r.id,
            r.name,
            r.deployment_name,
            r.reference,
            r.reference_version_id,
            r.window,
            r.settings,
            r.user_name,
            r.created_at,
            _baseline(r.baseline, r.settings),
        )
        for r in conn.execute(query).all()
    ]


def _results(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[MonitorResult]:
    rows = conn.execute(
        sa.select(monitor_results, monitors.c.name.label("monitor_name"))
        .join(monitors, monitors.c.id == monitor_results.c.monitor_id)
        .where(where)
        .order_by(monitor_results.c.window_index)
    ).all()
    return [
        MonitorResult(
            r.id,
            r.monitor_name,
            r.window_index,
            r.window_start,
            r.window_end,
            r.rows,
            bool(r.drifted),
            r.share,
            r.result,
            r.report,
            r.created_at,
        )
        for r in rows
    ]
