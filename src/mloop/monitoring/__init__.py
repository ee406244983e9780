"""Monitoring: data and prediction drift against stored reference statistics.

from mloop.monitoring import build_reference, detect
result = detect(build_reference(train), window)     # or detect(train_frame, window)
result.drifted, result.share, result.drifted_features
"""

from typing import Any

from mloop.monitoring.drift import (
    DRIFT_SHARE,
    TESTS,
    THRESHOLDS,
    DriftResult,
    FeatureDrift,
    detect,
)
from mloop.monitoring.reference import Reference, build_reference

__all__ = [
    "DRIFT_SHARE",
    "TESTS",
    "THRESHOLDS",
    "DriftResult",
    "FeatureDrift",
    "Monitors",
    "Reference",
    "Status",
    "build_reference",
    "detect",
]


def __getattr__(name: str) -> Any:
    """``Monitors`` and ``Status`` load the report templates: imported when first used."""
    if name in ("Monitors", "Status"):
        from mloop.monitoring import monitors

        return getattr(monitors, name)
    raise AttributeError(f"module 'mloop.monitoring' has no attribute {name!r}")
