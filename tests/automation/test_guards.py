"""Guards: their syntax, and how they judge a candidate's rows against the others'."""

from __future__ import annotations

import pandas as pd
import pytest

from mloop.automation import parse_guard
from mloop.automation.guards import Traffic, check_guards
from mloop.errors import InvalidArgument


def rows(
    predictions: list[object], labels: list[object], latency: float, failed: int = 0
) -> Traffic:
    frame = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(len(predictions))],
            "output.prediction": predictions,
            "label": labels,
            "latency_ms": latency,
        }
    )
    return Traffic(frame, failed, failed)


def test_absolute_signed_and_percent_bounds() -> None:
    mine = rows([1.0, 0.0, 1.0, 1.0], [1, 1, 1, 1], 20.0, failed=1)  # accuracy 0.75
    others = rows([1, 1, 1, 1], [1, 1, 1, 1], 10.0)  # accuracy 1.0, no failures
    checks = check_guards(
        [
            parse_guard("accuracy>=0.7"),
            parse_guard("accuracy>=-0.2"),
            parse_guard("accuracy>=-0.3"),
            parse_guard("latency_p95_ms<=+100%"),
            parse_guard("latency_p95_ms<=50%"),
            parse_guard("error_rate<=0.25"),
            parse_guard("error_rate<=+0.1"),
        ],
        mine,
        others,
        "classification",
    )
    assert [c.held for c in checks] == [True, False, True, True, False, True, False]
    assert checks[5].candidate == 0.2  # 1 of 5 requests failed
    assert "BREACHED" in checks[1].describe()


def test_a_guard_without_labels_is_not_measurable_and_holds() -> None:
    mine = rows([3.0, 4.0], [None, None], 5.0)
    (check,) = check_guards([parse_guard("mae<=+1")], mine, mine, "regression")
    assert check.held is None and not check.breached


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("accuracy", "not NAME<=BOUND"),
        ("speed<=3", "unknown name 'speed'"),
        ("roc_auc>=0.8", "unknown name"),  # needs probabilities the log may not hold
        ("prediction_drift<=2", "between 0 and 1"),
        ("mae<3", "not NAME<=BOUND"),
    ],
)
def test_bad_guards_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(InvalidArgument, match=why):
        parse_guard(text)
