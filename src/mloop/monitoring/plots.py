"""Small inline SVG charts for reports: no JavaScript, no network, crisp at any size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

from mloop.monitoring.reference import NUMERIC, ColumnReference, category_counts

REFERENCE_COLOUR = "#4c78a8"
CURRENT_COLOUR = "#f58518"
WIDTH, HEIGHT = 560, 220
LEFT, BOTTOM, TOP = 48, 36, 12
BINS = 30
TOP_CATEGORIES = 20


@dataclass(frozen=True, slots=True)
class Distribution:
    """Shares of reference and current values over the same bins or categories."""

    labels: list[str]
    reference: np.ndarray
    current: np.ndarray


def distribution(column: ColumnReference, values: pd.Series) -> Distribution:
    present = values.dropna()
    if column.kind == NUMERIC and column.values is not None:
        data = np.asarray(present, dtype=np.float64)
        data = data[np.isfinite(data)]
        low = min(column.values[0], data.min()) if len(data) else column.values[0]
        high = max(column.values[-1], data.max()) if len(data) else column.values[-1]
        edges = np.linspace(low, high if high > low else low + 1, BINS + 1)
        ref, _ = np.histogram(column.values, edges)
        cur, _ = np.histogram(data, edges)
        labels = [f"{edges[i]:.3g}" for i in range(BINS)]
        return Distribution(labels, _share(ref), _share(cur))
    current = category_counts(present)
    keys = list(dict.fromkeys([*column.counts, *current]))
    ref = np.array([column.counts.get(k, 0) for k in keys], dtype=np.float64)
    cur = np.array([current.get(k, 0) for k in keys], dtype=np.float64)
    order = np.argsort(-(_share(ref) + _share(cur)), kind="stable")[:TOP_CATEGORIES]
    return Distribution([keys[i] for i in order], _share(ref)[order], _share(cur)[order])


def _share(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts.astype(np.float64)


def bars_svg(dist: Distribution, title: str) -> str:
    """Reference and current shares side by side, one pair of bars per bin or category."""
    n = len(dist.labels)
    top = float(max(dist.reference.max(initial=0), dist.current.max(initial=0))) or 1.0
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(n, 1)
    bar = max(slot * 0.4, 1.0)
    parts = [_frame(title, top, plot_h)]
    for i in range(n):
        x = LEFT + i * slot + slot * 0.1
        for j, (share, colour) in enumerate(
            ((dist.reference[i], REFERENCE_COLOUR), (dist.current[i], CURRENT_COLOUR))
        ):
            h = float(share) / top * plot_h
            parts.append(
                f'<rect class="bar" x="{x + j * bar:.1f}" y="{TOP + plot_h - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(dist.labels[i])}: {share:.1%}</title></rect>"
            )
    step = max(1, n // 8)
    for i in range(0, n, step):
        x = LEFT + i * slot + slot / 2
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" '
            f'text-anchor="middle">{escape(dist.labels[i][:12])}</text>'
        )
    parts.append(_legend(("reference", REFERENCE_COLOUR), ("current", CURRENT_COLOUR)))
    return _svg(parts, title)


def line_svg(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    threshold: float | None = None,
) -> str:
    """One line per series over the windows, with an optional threshold line."""
    values = [v for points in series.values() for v in points if v is not None]
    top = max([*values, threshold or 0.0, 1e-9])
    low = min([*values, 0.0])
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    n = len(labels)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        return x, TOP + plot_h - (v - low) / (top - low) * plot_h

    parts = [_frame(title, top, plot_h, low)]
    colours = [CURRENT_COLOUR, REFERENCE_COLOUR, "#54a24b", "#e45756"]
    for points, colour in zip(series.values(), colours, strict=False):
        coords = [xy(i, v) for i, v in enumerate(points) if v is not None]
        if coords:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(
                f'<polyline class="line" points="{path}" fill="none" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
            parts += [
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in coords
            ]
    if threshold is not None:
        _, y = xy(0, threshold)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e45756" stroke-dasharray="4 3"/>'
        )
    step = max(1, n // 6)
    for i in range(0, n, step):
        x, _ = xy(i, low)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" '
            f'text-anchor="middle">{escape(labels[i][:16])}</text>'
        )
    names = list(series)
    parts.append(_legend(*zip(names, colours[: len(names)], strict=True)))
    return _svg(parts, title)


def _frame(title: str, top: float, plot_h: float, low: float = 0.0) -> str:
    axis = (
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#999"/>'
        f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        'stroke="#999"/>'
    )
    ticks = "".join(
        f'<text x="{LEFT - 4}" y="{TOP + plot_h - f * plot_h + 4:.1f}" font-size="10" '
        f'text-anchor="end">{low + f * (top - low):.3g}</text>'
        for f in (0.0, 0.5, 1.0)
    )
    return axis + ticks


def _legend(*items: tuple[str, str]) -> str:
    parts = []
    for i, (name, colour) in enumerate(items):
        x = WIDTH - 150 + (i % 2) * 75
        y = TOP + 4 + (i // 2) * 14
        parts.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y + 9}" font-size="11">{escape(name)}</text>'
        )
    return "".join(parts)


def _svg(parts: list[str], title: str) -> str:
    return (
        f'<svg class="plot" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(parts)
        + "</svg>"
    )
