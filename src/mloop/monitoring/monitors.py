"""``Monitors``: watch a deployment's prediction log window by window.

    monitors = Monitors(mloop.Client())
    monitors.create("bikes-drift", deployment="bikes-api", reference="bikes@1",
                    window="1d", target="cnt")
    monitors.run("bikes-drift")        # every complete window not computed yet
    monitors.status("bikes-drift")

Each window's result (drift per column, prediction and target drift, performance
from late labels, data quality) is stored once, with its HTML report; drift, decay
and quality findings become events, which are logged, sent to the webhook, and
read by the automation. Running again computes only the new windows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from mloop.data.client import DataClient
from mloop.data.refs import is_local
from mloop.errors import Conflict, InvalidArgument, MloopError
from mloop.models.load import load
from mloop.models.refs import resolve_version
from mloop.monitoring import alerts
from mloop.monitoring.baseline import Baseline, build_baseline
from mloop.monitoring.drift import P_VALUE_TESTS, DriftResult, choose_test, thresholds_for
from mloop.monitoring.report import drift_report_html, timeline_from
from mloop.monitoring.sources import version_frame
from mloop.monitoring.window import Settings, WindowResult, evaluate_window
from mloop.monitoring.windows import WindowSpec, parse_window
from mloop.registry.times import to_ms
from mloop.serving.query import logged_rows, predictions
from mloop.store import (
    DatasetVersion,
    Monitor,
    MonitorResult,
    NewMonitor,
    NewMonitorResult,
    PredictionSegment,
    Store,
    WebhookTarget,
)
from mloop.store.entities import now_ms
from mloop.tracking.client import Client

logger = logging.getLogger("mloop.monitoring")

SETTLE = timedelta(minutes=1)
"""A time window is computed once it ended this long ago, so its rows are flushed; a row
window once it is full. Both also wait the monitor's label delay, for their labels."""


@dataclass(frozen=True, slots=True)
class Status:
    monitor: Monitor
    results: list[MonitorResult]

    @property
    def latest(self) -> MonitorResult | None:
        return self.results[-1] if self.results else None


class Monitors:
    def __init__(self, client: Client, project: str = "default") -> None:
        self.client = client
        self.project = project

    @property
    def store(self) -> Store:
        return self.client.store

    def create(
        self,
        name: str,
        *,
        deployment: str,
        reference: str,
        window: str = "1d",
        target: str | None = None,
        columns: Sequence[str] | None = None,
        drift_share: float = 0.5,
        thresholds: dict[str, float] | None = None,
        method: str | None = None,
        decay_threshold: float = 0.05,
        null_jump: float = 0.1,
        webhook: str | None = None,
        webhook_secret_env: str = alerts.DEFAULT_SECRET_ENV,
        label_delay: timedelta | float = 0.0,
    ) -> Monitor:
        """A monitor of ``deployment`` against the dataset version ``reference``.

        A window is computed once its last prediction is a minute old plus
        ``label_delay`` (seconds or a timedelta): labels posted after that do not count
        for it, so set it to how late your labels come."""
        if isinstance(label_delay, timedelta):
            label_delay = label_delay.total_seconds()
        spec = parse_window(window)
        _check_settings(drift_share, thresholds, decay_threshold, null_jump, webhook)
        _check_delay(label_delay)
        version, baseline = self._baseline(
            deployment, reference, target, list(columns) if columns else None
        )
        for column in baseline.features.columns:  # a forced test must fit every column
            choose_test(column, method, column.name)
        settings = Settings(
            drift_share=drift_share,
            thresholds=dict(thresholds or {}),
            method=method,
            target=target,
            decay_threshold=decay_threshold,
            null_jump=null_jump,
            webhook=webhook,
            webhook_secret_env=webhook_secret_env,
            label_delay=label_delay,
        )
        return self.store.monitors.create(
            NewMonitor(
                name,
                deployment,
                version.ref,
                version.id,
                spec.text,
                settings.to_json(),
                self.client.settings.user,
                now_ms(),
                baseline.store(self.client),
            ),
            self.project,
        )

    def rebase(self, name: str, reference: str) -> Monitor:
        """Compare from now on with ``reference`` and the model the deployment serves now
        (after a retrain: its training data and the new champion). Results so far stay."""
        monitor = self.get(name)
        settings = Settings.from_json(monitor.settings)
        columns = self._load_baseline(monitor).features.names
        version, baseline = self._baseline(monitor.deployment, reference, settings.target, columns)
        for column in baseline.features.columns:
            choose_test(column, settings.method, column.name)
        return self.store.monitors.rebase(
            name,
            version.ref,
            version.id,
            monitor.settings,
            self.project,
            baseline=baseline.store(self.client),
        )

    def _baseline(
        self, deployment: str, reference: str, target: str | None, columns: list[str] | None
    ) -> tuple[DatasetVersion, Baseline]:
        """The reference version, and its statistics with the deployment's primary model."""
        if is_local(reference):
            raise InvalidArgument(
                f"a monitor's reference is a dataset version (NAME@N), not a file: "
                f"`mloop data add {reference} --name NAME` first"
            )
        data = DataClient(self.client)
        version = data.version(reference)
        frame = version_frame(data, version)
        current = self.store.deployments.get(deployment, self.project).revision
        primary = resolve_version(self.store, current.primary[0].model, self.project)
        model = load(primary.package, client=self.client)
        return version, build_baseline(frame, model, target=target, columns=columns)

    def _load_baseline(self, monitor: Monitor) -> Baseline:
        if monitor.baseline is None:
            raise InvalidArgument(f"monitor {monitor.name} has no baseline: create it again")
        return Baseline.load(self.client, monitor.baseline)

    def get(self, name: str) -> Monitor:
        return self.store.monitors.get(name, self.project)

    def all(self) -> list[Monitor]:
        return self.store.monitors.list_all(self.project)

    def status(self, name: str) -> Status:
        return Status(self.get(name), self.store.monitors.results(name, self.project))

    def run(self, name: str, *, until: datetime | str | int | None = None) -> list[MonitorResult]:
        """Compute every complete window not computed yet; returns the new results."""
        monitor = self.get(name)
        settings = Settings.from_json(monitor.settings)
        baseline = self._load_baseline(monitor)
        spec = parse_window(monitor.window)
        results = self.store.monitors.results(name, self.project)
        done = {r.window_index for r in results}
        state = _RunState(
            [entry for r in results if (entry := _history(r)) is not None], self._last_event(name)
        )
        settle = SETTLE.total_seconds() if spec.seconds is not None else 0.0  # rows: in the log
        wait = int((settle + settings.label_delay) * 1000)
        limit = now_ms() - wait
        if until is not None:  # earlier only: a window is computed once, when it is complete
            limit = min(limit, to_ms(until))
        created = []
        for index, rows in self._windows(monitor, spec, done, limit):
            try:
                result = self._record(
                    monitor, settings, baseline, index=index, rows=rows, state=state
                )
            except MloopError:
                raise
            except Exception as exc:  # one window's data must not block the ones after it
                logger.error(
                    "mloop monitor %s: window %d could not be computed: %s: %s",
                    name,
                    index,
                    type(exc).__name__,
                    exc,
                )
                continue
            if result is not None:
                created.append(result)
        if settings.webhook:  # this run's alerts, and earlier ones still pending
            alerts.deliver_due(self.store.monitors)
        return created

    def _windows(
        self, monitor: Monitor, spec: WindowSpec, done: set[int], limit: int
    ) -> Iterator[tuple[int, pd.DataFrame]]:
        segments = self.store.predictions.segments(
            deployment=monitor.deployment, project=self.project
        )
        if spec.rows is not None:
            yield from self._row_windows(monitor, spec.rows, segments, done, limit)
            return
        size = spec.millis
        wanted = sorted(
            {i for s in segments for i in range(s.start // size, s.end // size + 1)} - done
        )
        wanted = [i for i in wanted if (i + 1) * size <= limit]
        if not wanted:
            return
        rows = predictions(  # once for every window wanted, not once per window
            monitor.deployment,
            wanted[0] * size,
            (wanted[-1] + 1) * size - 1,
            client=self.client,
            project=self.project,
        )
        millis = (rows["time"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
        index = millis.to_numpy() // size
        for i in wanted:
            window = rows[index == i]
            if len(window):
                yield i, window.reset_index(drop=True)

    def _row_windows(
        self,
        monitor: Monitor,
        size: int,
        segments: list[PredictionSegment],
        done: set[int],
        limit: int,
    ) -> Iterator[tuple[int, pd.DataFrame]]:
        if all(i in done for i in range(sum(s.rows for s in segments) // size)):
            return  # the segment index says no new full window: nothing to read
        rows = logged_rows(monitor.deployment, client=self.client, project=self.project)
        times = rows["time"]
        for index in range(len(rows) // size):
            if index in done:
                continue
            if times.iloc[(index + 1) * size - 1].value // 1_000_000 > limit:
                return
            yield index, rows.iloc[index * size : (index + 1) * size]

    def _record(
        self,
        monitor: Monitor,
        settings: Settings,
        baseline: Baseline,
        *,
        index: int,
        rows: pd.DataFrame,
        state: _RunState,
    ) -> MonitorResult | None:
        window = evaluate_window(rows, baseline, settings)
        start, end = _times(rows)
        where = f"monitor {monitor.name}, window {_label(start)}"
        report = self._report(monitor, baseline, window, start, state.history)
        try:
            result = self.store.monitors.add_result(
                monitor.name,
                NewMonitorResult(
                    index,
                    start,
                    end,
                    len(rows),
                    window.drifted,
                    window.drift.share if window.drift else 0.0,
                    json.dumps(window.to_dict(baseline)),
                    report,
                    now_ms(),
                ),
                window.events(baseline, settings, where),
                self.project,
                webhook=_target(settings),
            )
        except Conflict:  # another run computed this window meanwhile
            return None
        if window.drift is not None:
            state.history.append((start, window.drift, window.performance))
        self._alert(monitor, settings, result, state)
        return result

    def _last_event(self, name: str) -> int:
        found = self.store.monitors.events(name, project=self.project)
        return found[-1].id if found else 0

    def _report(
        self,
        monitor: Monitor,
        baseline: Baseline,
        window: WindowResult,
        start: int,
        history: list[tuple[int, DriftResult, float | None]],
    ) -> str | None:
        if window.drift is None:
            return None
        timeline = [(_label(t), drift, value) for t, drift, value in history if t < start]
        timeline.append((_label(start), window.drift, window.performance))
        html = drift_report_html(
            window.drift,
            baseline.features,
            window.features,
            title=f"monitor {monitor.name}: window {_label(start)}",
            subtitle=f"deployment {monitor.deployment} against {monitor.reference}, "
            f"{window.drift.rows:,} rows",
            timeline=timeline_from(timeline, baseline.metric, baseline.performance),
        )
        return self.client.blobs.put_bytes(html.encode()).hex

    def _alert(
        self, monitor: Monitor, settings: Settings, result: MonitorResult, state: _RunState
    ) -> None:
        new = self.store.monitors.events(monitor.name, after=state.last_event, project=self.project)
        if new:
            state.last_event = new[-1].id
        for event in (e for e in new if e.result_id == result.id):
            logger.warning("mloop %s: %s", event.kind, event.message)


def _target(settings: Settings) -> WebhookTarget | None:
    """Where the monitor's events are delivered (see ``alerts``), if anywhere."""
    if not settings.webhook:
        return None
    return WebhookTarget(settings.webhook, settings.webhook_secret_env)


@dataclass(slots=True)
class _RunState:
    """What one run carries from window to window instead of reading it again: the
    drift timeline so far (for the reports) and the last event it has seen."""

    history: list[tuple[int, DriftResult, float | None]]
    last_event: int


def _history(result: MonitorResult) -> tuple[int, DriftResult, float | None] | None:
    data = json.loads(result.result)
    if data["drift"] is None:
        return None
    return result.window_start, DriftResult.from_dict(data["drift"]), data["performance"]["value"]


def _check_settings(
    drift_share: float,
    thresholds: dict[str, float] | None,
    decay_threshold: float,
    null_jump: float,
    webhook: str | None,
) -> None:
    if not 0 < drift_share <= 1:
        raise InvalidArgument(f"--drift-share is a share of columns in (0, 1], got {drift_share}")
    limits = thresholds_for(thresholds)
    for test in P_VALUE_TESTS:
        if not 0 < limits[test] < 1:
            raise InvalidArgument(f"the {test} threshold is a p-value, in (0, 1)")
    if not 0 <= decay_threshold <= 1 or not 0 <= null_jump <= 1:
        raise InvalidArgument("--decay-threshold and --null-jump are numbers in [0, 1]")
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise InvalidArgument(f"--webhook {webhook!r}: an http:// or https:// URL")


def _check_delay(seconds: float) -> None:
    if not isinstance(seconds, int | float) or not 0 <= seconds <= 366 * 86400:
        raise InvalidArgument("the label delay is 0 seconds to a year")


def _times(rows: pd.DataFrame) -> tuple[int, int]:
    times = rows["time"]
    return int(times.min().value // 1_000_000), int(times.max().value // 1_000_000)


def _label(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")
