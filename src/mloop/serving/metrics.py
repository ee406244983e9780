"""The scoring server's Prometheus metrics (``GET /metrics``), one registry per app."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from mloop.serving.predlog import PredictionLog

_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.5, 1.0, 2.5)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mloop_requests",
            "Prediction requests answered, by model version and HTTP status.",
            ["model", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mloop_request_latency_seconds",
            "Time from a prediction request's arrival to its answer, by model version.",
            ["model"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter(
            "mloop_predicted_rows",
            "Rows scored, by model version.",
            ["model"],
            registry=self.registry,
        )
        self.errors = Counter(
            "mloop_request_errors",
            "Requests refused or failed, by kind (bad_json, invalid_input, too_large, ...).",
            ["kind"],
            registry=self.registry,
        )
        self.swaps = Counter(
            "mloop_model_swaps",
            "Times the served models were switched while running.",
            registry=self.registry,
        )

    def watch(self, log: PredictionLog) -> None:
        """Report the prediction log's state (read at each scrape)."""
        self.registry.register(_LogState(log))

    def answered(self, model: str, seconds: float, rows: int) -> None:
        self.requests.labels(model, "200").inc()
        self.latency.labels(model).observe(seconds)
        self.rows.labels(model).inc(rows)

    def refused(self, kind: str, status: int, model: str = "") -> None:
        self.errors.labels(kind).inc()
        self.requests.labels(model, str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LogState(Collector):
    def __init__(self, log: PredictionLog) -> None:
        self.log = log

    def collect(self) -> Iterator[Metric]:
        log = self.log
        yield GaugeMetricFamily(
            "mloop_prediction_log_buffered_rows",
            "Answered predictions not yet written to a segment (in memory or in the journal).",
            value=log.buffered,
        )
        yield GaugeMetricFamily(
            "mloop_prediction_log_buffered_bytes",
            "Bytes of buffered predictions held in memory (the rest wait in the journal).",
            value=log.buffered_bytes,
        )
        yield GaugeMetricFamily(
            "mloop_prediction_journal_bytes",
            "Bytes in this server's prediction journal files.",
            value=0 if log.journal is None else log.journal.size,
        )
        yield CounterMetricFamily(
            "mloop_prediction_log_flush_failures",
            "Writes of the prediction log that failed (the rows were kept and retried).",
            value=log.flush_failures,
        )
        yield CounterMetricFamily(
            "mloop_prediction_log_dropped_rows",
            "Predictions dropped: over the memory budget with no journal to hold them.",
            value=log.dropped_rows,
        )
