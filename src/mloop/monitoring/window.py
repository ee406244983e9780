"""One monitor window: drift, prediction and target drift, performance, data quality."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from mloop.data.profile import profile_table
from mloop.data.validation import Thresholds, validate
from mloop.monitoring.alerts import DEFAULT_SECRET_ENV
from mloop.monitoring.baseline import CLASSIFICATION, PREDICTION, Baseline, metric_value
from mloop.monitoring.drift import DriftResult, detect
from mloop.serving.query import LABEL
from mloop.store import NewMonitorEvent

INPUT = "input."
OUTPUT = "output.prediction"


@dataclass(frozen=True, slots=True)
class Settings:
    drift_share: float = 0.5
    thresholds: dict[str, float] = field(default_factory=dict)
    method: str | None = None
    target: str | None = None
    decay_threshold: float = 0.05
    null_jump: float = 0.1
    webhook: str | None = None
    webhook_secret_env: str = DEFAULT_SECRET_ENV
    label_delay: float = 0.0
    """Seconds a window waits for its labels before it is computed."""

    def to_json(self) -> str:
        return json.dumps({k: getattr(self, k) for k in self.__slots__})

    @classmethod
    def from_json(cls, text: str) -> Settings:
        found = json.loads(text)
        found.pop("baseline", None)  # written by mloop 0.x before it was the monitor's own
        return cls(**found)


@dataclass(frozen=True, slots=True)
class WindowResult:
    drift: DriftResult | None
    prediction_drift: DriftResult
    target_drift: DriftResult | None
    performance: float | None
    labelled: int
    decayed: bool
    quality: dict[str, Any]
    missing: list[str]
    features: pd.DataFrame

    @property
    def drifted(self) -> bool:
        return bool(self.drift and self.drift.drifted) or self.prediction_drift.drifted

    def to_dict(self, baseline: Baseline) -> dict[str, Any]:
        return {
            "drift": None if self.drift is None else self.drift.to_dict(),
            "prediction_drift": self.prediction_drift.to_dict(),
            "target_drift": None if self.target_drift is None else self.target_drift.to_dict(),
            "performance": {
                "metric": baseline.metric,
                "value": self.performance,
                "reference": baseline.performance,
                "labelled": self.labelled,
                "decayed": self.decayed,
            },
            "quality": self.quality,
            "missing_columns": self.missing,
        }

    def events(self, baseline: Baseline, settings: Settings, where: str) -> list[NewMonitorEvent]:
        found: list[NewMonitorEvent] = []
        if self.drifted:
            parts = []
            if self.drift is not None and self.drift.drifted:
                parts.append(self.drift.summary())
            if self.prediction_drift.drifted:
                parts.append("the predictions drifted")
            found.append(_event("drift", f"{where}: {'; '.join(parts)}", self.drift))
        if self.decayed:
            message = (
                f"{where}: {baseline.metric} {self.performance:.4g} on {self.labelled} labelled "
                f"rows, against {baseline.performance:.4g} on the reference"
            )
            found.append(_event("decay", message, None))
        errors = [a for a in self.quality.get("anomalies", []) if a["severity"] == "error"]
        if errors:
            text = "; ".join(a["message"] for a in errors[:3])
            found.append(_event("quality", f"{where}: {text}", None))
        return found


def _event(kind: str, message: str, drift: DriftResult | None) -> NewMonitorEvent:
    details = {} if drift is None else {"drifted": [f.column for f in drift.drifted_features]}
    return NewMonitorEvent(kind, message, json.dumps(details))


def evaluate_window(rows: pd.DataFrame, baseline: Baseline, settings: Settings) -> WindowResult:
    """Everything a monitor computes for the logged predictions ``rows`` of one window."""
    wanted = baseline.features.names
    present = [n for n in wanted if INPUT + n in rows.columns]
    missing = [n for n in wanted if n not in present]
    features = rows[[INPUT + n for n in present]].set_axis(present, axis=1)
    drift = None
    if present:
        drift = detect(
            baseline.features,
            features,
            columns=present,
            method=settings.method,
            thresholds=settings.thresholds,
            drift_share=settings.drift_share,
        )
    prediction_drift = detect(
        baseline.prediction,
        pd.DataFrame({PREDICTION: rows[OUTPUT].to_numpy()}),
        thresholds=settings.thresholds,
    )
    labelled = rows[rows[LABEL].notna()] if LABEL in rows.columns else rows.iloc[:0]
    target_drift = None
    if baseline.target is not None and len(labelled):
        name = baseline.target.names[0]
        target_drift = detect(
            baseline.target,
            pd.DataFrame({name: _typed(labelled[LABEL])}),
            thresholds=settings.thresholds,
        )
    performance = (
        metric_value(baseline.task, labelled[LABEL].to_numpy(), labelled[OUTPUT].to_numpy())
        if len(labelled)
        else None
    )
    return WindowResult(
        drift,
        prediction_drift,
        target_drift,
        performance,
        len(labelled),
        _decayed(baseline, performance, settings.decay_threshold),
        _quality(features, baseline, settings),
        missing,
        features,
    )


def _typed(values: pd.Series) -> pd.Series:
    """Labels arrive as JSON values (object dtype): numbers become numbers again."""
    converted = pd.to_numeric(values, errors="coerce")
    return converted if converted.notna().all() else values.astype(str)


def _decayed(baseline: Baseline, value: float | None, threshold: float) -> bool:
    if value is None or baseline.performance is None:
        return False
    if baseline.task == CLASSIFICATION:
        return baseline.performance - value >= threshold
    reference = max(baseline.performance, 1e-12)
    return (value - baseline.performance) / reference >= threshold


def _quality(features: pd.DataFrame, baseline: Baseline, settings: Settings) -> dict[str, Any]:
    table = pa.Table.from_pandas(features, preserve_index=False)
    report = validate(
        profile_table(table),
        reference=baseline.profile,
        table=table,
        thresholds=Thresholds(null_jump=settings.null_jump, min_row_ratio=0.0),
    )
    return report.to_dict()
