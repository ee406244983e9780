"""A summary of logged predictions: per model version, traffic, latency and labels."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mloop.serving.query import LABEL, label_matches


@dataclass(frozen=True, slots=True)
class ModelTraffic:
    model: str
    rows: int
    requests: int
    share: float
    """The share of requests it answered (canary weights count requests)."""
    latency_p50_ms: float
    latency_p99_ms: float
    labelled: int
    agreement: float | None
    """The share of labelled rows whose prediction equals the label."""
    predictions: dict[str, int]
    """The most frequent predicted values and their counts."""


@dataclass(frozen=True, slots=True)
class ShadowTraffic:
    model: str
    rows: int
    errors: int
    agreement: float | None
    """The share of rows where the shadow predicted what the answering model did."""


@dataclass(frozen=True, slots=True)
class PredictionSummary:
    rows: int
    requests: int
    start: str | None
    end: str | None
    models: list[ModelTraffic]
    shadows: list[ShadowTraffic]


def summarise(rows: pd.DataFrame) -> PredictionSummary:
    if rows.empty:
        return PredictionSummary(0, 0, None, None, [], [])
    requests = int(rows["request_id"].nunique())
    models = [
        _model(str(model), group, requests) for model, group in rows.groupby("model", sort=True)
    ]
    shadows: list[ShadowTraffic] = []
    if "shadow.model" in rows.columns:
        shadowed = rows[rows["shadow.model"].notna()]
        for model, group in shadowed.groupby("shadow.model", sort=True):
            ok = group["shadow.error"].isna()
            same = group.loc[ok, "shadow.prediction"] == group.loc[ok, "output.prediction"]
            shadows.append(ShadowTraffic(str(model), len(group), int((~ok).sum()), _share(same)))
    return PredictionSummary(
        len(rows),
        requests,
        rows["time"].min().isoformat(timespec="seconds"),
        rows["time"].max().isoformat(timespec="seconds"),
        models,
        shadows,
    )


def _model(model: str, group: pd.DataFrame, total: int) -> ModelTraffic:
    labelled = group[group[LABEL].notna()] if LABEL in group.columns else group.iloc[:0]
    agree = _agreement(labelled)
    latency = group.drop_duplicates("request_id")["latency_ms"]
    counts = group["output.prediction"].astype(str).value_counts().head(5)
    return ModelTraffic(
        model=model,
        rows=len(group),
        requests=int(group["request_id"].nunique()),
        share=int(group["request_id"].nunique()) / total,
        latency_p50_ms=float(latency.quantile(0.5)),
        latency_p99_ms=float(latency.quantile(0.99)),
        labelled=len(labelled),
        agreement=agree,
        predictions={str(k): int(v) for k, v in counts.items()},
    )


def _agreement(labelled: pd.DataFrame) -> float | None:
    if labelled.empty:
        return None
    same = [
        label_matches(p, t)
        for p, t in zip(labelled["output.prediction"], labelled[LABEL], strict=True)
    ]
    return sum(same) / len(same)


def _share(flags: pd.Series) -> float | None:
    return None if flags.empty else float(flags.mean())
