"""Verdicts agree with Evidently's on the same data (where Evidently is installed: 0.7 needs
pandas < 3, so this runs in an environment made for it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mloop.monitoring import detect

evidently = pytest.importorskip("evidently")


def _evidently(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, tuple[float, bool]]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric = [c for c in reference.columns if c.startswith("x")]
    categorical = [c for c in reference.columns if c.startswith("c")]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    found = {}
    for metric in snapshot.dict()["metrics"]:
        name = metric.get("metric_name", "")
        if name.startswith("ValueDrift(column="):
            column = name.split("column=")[1].split(",")[0]
            threshold = float(name.split("threshold=")[1].rstrip(")"))
            value = float(metric["value"])
            drifted = (
                value < threshold
                if "p_value" in name or "K-S" in name or "chi" in name.lower()
                else value >= threshold
            )
            found[column] = (value, drifted)
    return found


@pytest.mark.parametrize("rows", [3_000, 50_000])
def test_verdicts_agree_with_evidently(rows: int) -> None:
    rng = np.random.default_rng(7)
    reference = pd.DataFrame(
        {f"x{i}": rng.normal(0, 1, rows) for i in range(4)}
        | {f"c{i}": rng.choice(list("abcd"), rows, p=[0.4, 0.3, 0.2, 0.1]) for i in range(2)}
    )
    current = pd.DataFrame(
        {f"x{i}": rng.normal(0.25 * i, 1, rows) for i in range(4)}
        | {
            "c0": rng.choice(list("abcd"), rows, p=[0.4, 0.3, 0.2, 0.1]),
            "c1": rng.choice(list("abcd"), rows, p=[0.1, 0.2, 0.3, 0.4]),
        }
    )
    ours = {f.column: f for f in detect(reference, current).features}
    theirs = _evidently(reference, current)
    assert set(theirs) == set(ours)
    assert {c for c, (_, drifted) in theirs.items() if drifted} == {"x1", "x2", "x3", "c1"}
    for column, (value, drifted) in theirs.items():
        assert ours[column].drifted == drifted, (column, ours[column], value)
        assert ours[column].statistic == pytest.approx(value, rel=0.02, abs=1e-3)
