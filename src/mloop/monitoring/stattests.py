"""The drift statistics, vectorised with NumPy, each matching its SciPy definition.

Numbers: Kolmogorov-Smirnov (``scipy.stats.ks_2samp``), the Wasserstein distance
normalised by the reference's standard deviation (``scipy.stats.wasserstein_distance
/ std``), and the population stability index on the reference's deciles.
Categories: the chi-square test of homogeneity of the two samples' counts
(``scipy.stats.chi2_contingency``) and the Jensen-Shannon distance of the two
distributions (``scipy.spatial.distance.jensenshannon``, natural log).
"""

from __future__ import annotations

import numpy as np

PSI_FLOOR = 1e-4
"""Proportions are floored at this value in the PSI, so an empty bin counts but is finite."""


def ks(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """(statistic, p-value) of the two-sample Kolmogorov-Smirnov test."""
    from scipy.stats import ks_2samp

    result = ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


def wasserstein(reference_sorted: np.ndarray, current_sorted: np.ndarray) -> float:
    """The first Wasserstein distance between two samples, both given sorted."""
    points = np.concatenate([reference_sorted, current_sorted])
    points.sort(kind="stable")
    widths = np.diff(points)
    inner = points[:-1]
    cdf_ref = np.searchsorted(reference_sorted, inner, side="right") / len(reference_sorted)
    cdf_cur = np.searchsorted(current_sorted, inner, side="right") / len(current_sorted)
    return float(np.sum(np.abs(cdf_ref - cdf_cur) * widths))


def wasserstein_normed(
    reference_sorted: np.ndarray, std: float, current_sorted: np.ndarray
) -> float:
    """The Wasserstein distance in units of the reference's standard deviation."""
    return wasserstein(reference_sorted, current_sorted) / max(std, 1e-3)


def psi_numeric(reference_sorted: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index over the reference's quantile bins."""
    edges = np.unique(np.quantile(reference_sorted, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        return 0.0
    ref_counts = _binned(reference_sorted, edges)
    cur_counts = _binned(current, edges)
    return psi(ref_counts, cur_counts)


def _binned(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    index = np.searchsorted(edges[1:-1], values, side="right")
    return np.bincount(index, minlength=len(edges) - 1).astype(np.float64)


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    ref = np.maximum(reference_counts / reference_counts.sum(), PSI_FLOOR)
    cur = np.maximum(current_counts / current_counts.sum(), PSI_FLOOR)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def chi_square(reference_counts: np.ndarray, current_counts: np.ndarray) -> tuple[float, float]:
    """(statistic, p-value) of the chi-square test of homogeneity of the two samples'
    counts (``scipy.stats.chi2_contingency`` without continuity correction).

    Both sides are samples, so this two-sample test keeps its false-alarm rate at the
    p-value threshold; testing the current counts against the reference proportions
    as if they were exact would raise far more false alarms on a small reference.
    """
    from scipy.stats import chi2

    table = np.vstack([reference_counts, current_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, float(chi2.sf(statistic, table.shape[1] - 1))


def jensen_shannon(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """The Jensen-Shannon distance (square root of the divergence, natural log)."""
    p = reference_counts / reference_counts.sum()
    q = current_counts / current_counts.sum()
    m = (p + q) / 2
    divergence = (_kl(p, m) + _kl(q, m)) / 2
    return float(np.sqrt(max(divergence, 0.0)))


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    present = p > 0
    return float(np.sum(p[present] * np.log(p[present] / q[present])))
