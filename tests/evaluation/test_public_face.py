"""The public face of mloop.evaluation is deliberate, and documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import mloop.evaluation

EXPECTED = {
    "DIRECTION",
    "MAIN_METRIC",
    "MIN_ROWS",
    "Contributions",
    "EvaluationResult",
    "FairnessMetrics",
    "FairnessResult",
    "FeatureImportance",
    "Gate",
    "GateCheck",
    "Gates",
    "GroupMetrics",
    "Importance",
    "Metrics",
    "Predictions",
    "Predictor",
    "SliceResult",
    "check",
    "compute_metrics",
    "contributions",
    "evaluate_predictors",
    "permutation_importance",
}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "evaluation.md"


def test_the_exports_are_the_expected_ones() -> None:
    assert set(mloop.evaluation.__all__) == EXPECTED
    assert all(hasattr(mloop.evaluation, name) for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_export_is_in_the_guide(name: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert re.search(rf"`{re.escape(name)}\b", text), f"docs/evaluation.md does not mention {name}"
