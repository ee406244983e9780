"""Self-contained HTML drift reports: a verdict, a table, and the distributions that moved.

One file, no scripts and no network: the plots are inline SVG. A monitor's report
adds the drift share and the performance across its windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd

from mloop.monitoring.drift import DriftResult
from mloop.monitoring.plots import bars_svg, distribution, line_svg
from mloop.monitoring.reference import Reference


@dataclass(frozen=True, slots=True)
class Timeline:
    """Per window: its label, the share of drifted columns, and performance when labelled."""

    labels: list[str]
    shares: list[float]
    drift_share: float
    performance: dict[str, list[float | None]]
    performance_name: str = ""


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("mloop.monitoring", "templates"), autoescape=True
)


def drift_report_html(
    result: DriftResult,
    reference: Reference,
    current: pd.DataFrame,
    *,
    title: str,
    subtitle: str = "",
    timeline: Timeline | None = None,
) -> str:
    features = sorted(result.features, key=lambda f: -f.score)
    plots = [
        (
            f.column,
            bars_svg(
                distribution(reference.column(f.column), current[f.column]),
                f"{f.column}: reference and current",
            ),
        )
        for f in features
        if f.drifted
    ]
    timeline_svg = performance_svg = ""
    if timeline is not None:
        timeline_svg = line_svg(
            timeline.labels,
            {"drifted share": timeline.shares},
            "drifted share",
            timeline.drift_share,
        )
        if any(v is not None for values in timeline.performance.values() for v in values):
            performance_svg = line_svg(
                timeline.labels, timeline.performance, timeline.performance_name
            )
    return _ENVIRONMENT.get_template("drift_report.html.j2").render(
        title=title,
        subtitle=subtitle or f"{result.rows:,} current rows",
        result=result,
        verdict=result.summary(),
        features=features,
        plots=plots,
        timeline=timeline,
        timeline_svg=timeline_svg,
        performance_svg=performance_svg,
    )


def write_drift_report(
    path: Path,
    result: DriftResult,
    reference: Reference,
    current: pd.DataFrame,
    *,
    title: str,
) -> Path:
    """Write the report to ``path`` (its folder is created)."""
    html = drift_report_html(result, reference, current, title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def timeline_from(
    results: Sequence[tuple[str, DriftResult, float | None]],
    name: str,
    reference_value: float | None,
) -> Timeline:
    labels = [label for label, _, _ in results]
    performance: dict[str, list[float | None]] = {name: [p for _, _, p in results]}
    if reference_value is not None:
        performance["reference"] = [reference_value] * len(results)
    drift_share = results[0][1].drift_share if results else 0.5
    return Timeline(labels, [r.share for _, r, _ in results], drift_share, performance, name)
