"""Gate syntax, its errors, and the verdicts with their reasons."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mloop.errors import InvalidArgument
from mloop.evaluation import (
    DIRECTION,
    FairnessMetrics,
    FairnessResult,
    Gate,
    GateCheck,
    Gates,
    Metrics,
    SliceResult,
    check,
)
from mloop.evaluation.fairness import FAIRNESS_METRICS
from mloop.evaluation.gates import GATE_NAMES


@pytest.mark.parametrize(
    ("text", "gate", "canonical"),
    [
        ("accuracy>=0.8", Gate("accuracy", ">=", 0.8), "accuracy>=0.8"),
        (" roc_auc >= +0.01 ", Gate("roc_auc", ">=", 0.01, "change"), "roc_auc>=+0.01"),
        ("roc_auc>=+1%", Gate("roc_auc", ">=", 1.0, "percent"), "roc_auc>=+1%"),
        ("rmse<=-0.5", Gate("rmse", "<=", -0.5, "change"), "rmse<=-0.5"),
        ("log_loss<=-2.5%", Gate("log_loss", "<=", -2.5, "percent"), "log_loss<=-2.5%"),
        ("r2>=8e-1", Gate("r2", ">=", 0.8), "r2>=0.8"),
        ("mape<=.1", Gate("mape", "<=", 0.1), "mape<=0.1"),
        ("slice_regression<=0.05", Gate("slice_regression", "<=", 0.05), "slice_regression<=0.05"),
        (
            "slice_regression[f1] <= 5%",
            Gate("slice_regression", "<=", 5.0, "percent", "f1"),
            "slice_regression[f1]<=5%",
        ),
        (
            "demographic_parity_difference[ SEX ]<=0.1",
            Gate("demographic_parity_difference", "<=", 0.1, of="SEX"),
            "demographic_parity_difference[SEX]<=0.1",
        ),
        ("equalized_odds_difference<=0", Gate("equalized_odds_difference", "<=", 0.0), None),
    ],
)
def test_gates_parse(text: str, gate: Gate, canonical: str | None) -> None:
    parsed = Gate.parse(text)
    assert parsed == gate
    assert parsed.text == (canonical or text)
    assert Gate.parse(parsed.text) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("accuracy 0.8", "gate 'accuracy 0.8' has no operator: write NAME>=BOUND or NAME<=BOUND"),
        ("accuracy>0.8", "gate 'accuracy>0.8': operator '>' is not supported; use >= or <="),
        ("accuracy==0.8", "operator '==' is not supported"),
        ("acc>=0.8", "gate 'acc>=0.8': unknown metric 'acc'; known: accuracy, balanced_accuracy"),
        ("accuracy>=high", "gate 'accuracy>=high': 'high' is not a bound; write 0.8, +0.01"),
        ("accuracy>=", "'' is not a bound"),
        ("accuracy>=nan", "'nan' is not a bound"),
        ("accuracy>=80%", "a percentage needs a sign: +1% means at least 1% better"),
        ("1accuracy>=0.8", "'1accuracy' is not a metric name"),
        ("slice_regression>=0.05", "slice_regression takes an upper bound: use <="),
        ("slice_regression<=+0.05", "slice_regression bounds a loss: write an unsigned number"),
        ("slice_regression[acc]<=0.05", "unknown metric 'acc' in [...]"),
        ("accuracy[SEX]>=0.8", "only slice_regression (a metric) and fairness gates"),
        (
            "demographic_parity_difference<=+0.1",
            "takes a plain number (0.1), not a bound of mode 'change'",
        ),
        (
            "demographic_parity_difference<=5%",
            "takes a plain number (0.1), not a bound of mode 'percent'",
        ),
    ],
)
def test_bad_gates_are_refused_naming_the_bad_part(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        Gate.parse(text)
    assert message in str(error.value)


def test_gates_built_in_python_are_checked_too() -> None:
    with pytest.raises(InvalidArgument, match="an absolute bound cannot be negative"):
        Gate("r2", ">=", -0.5)
    with pytest.raises(InvalidArgument, match="the bound must be a finite number"):
        Gate("accuracy", ">=", float("inf"))
    with pytest.raises(InvalidArgument, match="the bound must be a finite number, got True"):
        Gate("accuracy", ">=", True)
    with pytest.raises(InvalidArgument, match="operator '>' is not supported"):
        Gate("accuracy", ">", 0.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="a gate must be text"):
        Gate.parse(0.8)  # type: ignore[arg-type]


def test_gate_lists_parse_and_read_back() -> None:
    gates = Gates.parse("accuracy>=0.8, roc_auc>=+1%,")
    assert [gate.text for gate in gates] == ["accuracy>=0.8", "roc_auc>=+1%"]
    assert gates.to_dict() == {"gates": ["accuracy>=0.8", "roc_auc>=+1%"]}
    assert (
        Gates.from_dict(gates.to_dict()) == gates == Gates.parse(["accuracy>=0.8", "roc_auc>=+1%"])
    )
    assert len(Gates()) == 0
    assert [gate.needs_baseline for gate in gates] == [False, True]
    with pytest.raises(InvalidArgument, match=re.escape('gates must be {"gates": [text, ...]}')):
        Gates.from_dict(["accuracy>=0.8"])


@pytest.mark.parametrize(
    ("task", "texts", "slices", "sensitive", "message"),
    [
        ("classification", ["rmse<=3"], (), (), "gate 'rmse<=3' does not apply to classification"),
        ("regression", ["accuracy>=0.8"], (), (), "does not apply to regression"),
        ("regression", ["demographic_parity_difference<=0.1"], (), ("SEX",), "does not apply"),
        ("classification", ["slice_regression[rmse]<=1"], ("AGEP",), (), "does not apply"),
        ("classification", ["slice_regression<=0.05"], (), (), "needs slices: name the columns"),
        ("classification", ["equalized_odds_difference<=0.1"], (), (), "needs a sensitive column"),
        (
            "classification",
            ["demographic_parity_difference[RAC1P]<=0.1"],
            (),
            ("SEX",),
            "'RAC1P' is not a declared sensitive column (SEX)",
        ),
    ],
)
def test_gates_are_validated_against_the_evaluation(
    task: str, texts: list[str], slices: tuple[str, ...], sensitive: tuple[str, ...], message: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        Gates.parse(texts).validate(task, slices=slices, sensitive=sensitive)  # type: ignore[arg-type]
    assert message in str(error.value)


CANDIDATE = Metrics(1000, {"accuracy": 0.82, "roc_auc": None, "log_loss": 0.4})
BASELINE = Metrics(1000, {"accuracy": 0.8, "roc_auc": 0.9, "log_loss": 0.5})


def verdicts(texts: list[str], baseline: Metrics | None = BASELINE) -> list[tuple[bool, str]]:
    checks = check(
        Gates.parse(texts), task="classification", candidate=CANDIDATE, baseline=baseline
    )
    return [(item.passed, item.reason) for item in checks]


def test_metric_gates_give_exact_reasons() -> None:
    assert verdicts(
        [
            "accuracy>=0.8",
            "accuracy>=0.85",
            "accuracy>=+0.01",
            "accuracy>=+5%",
            "log_loss<=-10%",
            "log_loss<=0.3",
        ]
    ) == [
        (True, "accuracy is 0.82, at least 0.8 as required"),
        (False, "accuracy is 0.82, below the required minimum 0.85"),
        (
            True,
            "the change in accuracy from the baseline (0.8 → 0.82) is +0.02, "
            "at least +0.01 as required",
        ),
        (
            False,
            "the relative change in accuracy from the baseline (0.8 → 0.82) is +2.5%, "
            "below the required minimum +5%",
        ),
        (
            True,
            "the relative change in log_loss from the baseline (0.5 → 0.4) is -20%, "
            "at most -10% as required",
        ),
        (False, "log_loss is 0.4, above the allowed maximum 0.3"),
    ]


def test_a_bound_met_exactly_passes() -> None:
    candidate, baseline = Metrics(10, {"accuracy": 0.81}), Metrics(10, {"accuracy": 0.8})
    (result,) = check(
        Gates.parse(["accuracy>=+0.01"]),
        task="classification",
        candidate=candidate,
        baseline=baseline,
    )
    assert result.passed and result.observed == pytest.approx(0.01) and result.expected == 0.01


def test_comparisons_without_a_baseline_fail_saying_so() -> None:
    assert verdicts(["accuracy>=+0.01", "accuracy>=0.5"], baseline=None) == [
        (
            False,
            "accuracy>=+0.01 compares the candidate with a baseline, but there is none; "
            "evaluate against a baseline or drop the gate",
        ),
        (True, "accuracy is 0.82, at least 0.5 as required"),
    ]


def test_undefined_metrics_fail_their_gates() -> None:
    assert verdicts(["roc_auc>=0.7"]) == [
        (
            False,
            "roc_auc could not be computed for the candidate (it needs predicted "
            "probabilities and both classes among the rows)",
        )
    ]
    gates = Gates.parse(["accuracy>=+1%"])
    zero = Metrics(10, {"accuracy": 0.0})
    (result,) = check(gates, task="classification", candidate=CANDIDATE, baseline=zero)
    assert not result.passed and "a change in percent of it is undefined" in result.reason
    undefined = Metrics(10, {"accuracy": None})
    (result,) = check(gates, task="classification", candidate=CANDIDATE, baseline=undefined)
    assert result.reason == "accuracy could not be computed for the baseline on this data"
    assert result.observed is None


def a_slice(value: str, rows: int, ours: float, theirs: float | None) -> SliceResult:
    return SliceResult(
        "RAC1P",
        value,
        rows,
        rows >= 30,
        Metrics(rows, {"accuracy": ours}),
        None if theirs is None else Metrics(rows, {"accuracy": theirs}),
    )


def test_slice_regression_names_the_worst_gated_slice() -> None:
    slices = [
        a_slice("1", 5000, 0.83, 0.81),
        a_slice("2", 400, 0.70, 0.78),
        a_slice("3", 12, 0.2, 0.9),  # too small to gate
    ]
    checks = check(
        Gates.parse(["slice_regression<=0.05", "slice_regression<=10%"]),
        task="classification",
        candidate=CANDIDATE,
        baseline=BASELINE,
        slices=slices,
    )
    assert [(item.passed, item.reason) for item in checks] == [
        (
            False,
            "the largest accuracy loss in a slice (RAC1P=2, 400 rows: 0.78 → 0.7) is 0.08, "
            "above the allowed maximum 0.05",
        ),
        (
            False,
            "the largest relative accuracy loss in a slice (RAC1P=2, 400 rows: 0.78 → 0.7) is "
            "10.26%, above the allowed maximum 10%",
        ),
    ]
    better = check(
        Gates.parse(["slice_regression<=0"]),
        task="classification",
        candidate=CANDIDATE,
        slices=[a_slice("1", 100, 0.9, 0.8), a_slice("2", 100, 0.85, 0.8)],
    )
    assert better[0].passed and "is -0.05 (better in every gated slice)" in better[0].reason


def test_slice_regression_edge_cases() -> None:
    gates = Gates.parse(["slice_regression<=0.05"])
    (nothing,) = check(
        gates, task="classification", candidate=CANDIDATE, slices=[a_slice("3", 12, 0.2, 0.9)]
    )
    assert nothing.passed and nothing.observed is None and "nothing to compare" in nothing.reason
    (alone,) = check(
        gates, task="classification", candidate=CANDIDATE, slices=[a_slice("1", 99, 0.2, None)]
    )
    assert not alone.passed and "but there is none" in alone.reason
    (none,) = check(gates, task="classification", candidate=CANDIDATE)
    assert (
        not none.passed
        and none.reason == "'slice_regression<=0.05' needs slices, but none were evaluated"
    )


def test_fairness_gates_give_one_check_per_column() -> None:
    def result(column: str, parity: float | None) -> FairnessResult:
        return FairnessResult(column, 1, FairnessMetrics((), parity, 0.02), None)

    checks = check(
        Gates.parse(["demographic_parity_difference<=0.1", "equalized_odds_difference[SEX]<=0.01"]),
        task="classification",
        candidate=CANDIDATE,
        fairness=[result("SEX", 0.04), result("RAC1P", 0.18), result("DIS", None)],
    )
    assert [(item.name, item.passed, item.reason) for item in checks] == [
        (
            "demographic_parity_difference[SEX]<=0.1",
            True,
            "the candidate's demographic_parity_difference across SEX is 0.04, at most 0.1 "
            "as required",
        ),
        (
            "demographic_parity_difference[RAC1P]<=0.1",
            False,
            "the candidate's demographic_parity_difference across RAC1P is 0.18, above the "
            "allowed maximum 0.1",
        ),
        (
            "demographic_parity_difference[DIS]<=0.1",
            False,
            "demographic_parity_difference across DIS could not be computed: no group has the "
            "rows it needs",
        ),
        (
            "equalized_odds_difference[SEX]<=0.01",
            False,
            "the candidate's equalized_odds_difference across SEX is 0.02, above the allowed "
            "maximum 0.01",
        ),
    ]
    (missing,) = check(
        Gates.parse(["equalized_odds_difference<=0.1"]), task="classification", candidate=CANDIDATE
    )
    assert not missing.passed and "needs a sensitive column" in missing.reason


def test_checks_read_back() -> None:
    for item in check(
        Gates.parse(["accuracy>=0.9", "roc_auc>=0.5"]),
        task="classification",
        candidate=CANDIDATE,
    ):
        assert GateCheck.from_dict(item.to_dict()) == item


def gates() -> st.SearchStrategy[Gate]:
    finite = st.floats(-1e6, 1e6, allow_nan=False)
    unsigned = st.floats(0, 1e6)
    plain = st.builds(
        Gate,
        st.sampled_from(sorted(DIRECTION)),
        st.sampled_from([">=", "<="]),
        unsigned,
        st.just("value"),
    )
    relative = st.builds(
        Gate,
        st.sampled_from(sorted(DIRECTION)),
        st.sampled_from([">=", "<="]),
        finite,
        st.sampled_from(["change", "percent"]),
    )
    sliced = st.builds(
        Gate,
        st.just("slice_regression"),
        st.just("<="),
        unsigned,
        st.sampled_from(["value", "percent"]),
        st.none() | st.sampled_from(sorted(DIRECTION)),
    )
    fair = st.builds(
        Gate,
        st.sampled_from(FAIRNESS_METRICS),
        st.just("<="),
        unsigned,
        st.just("value"),
        st.none() | st.text("ABCxyz_ 1é", min_size=1).filter(lambda s: s.strip() == s),
    )
    return plain | relative | sliced | fair


@given(gates())
def test_every_gate_reads_back_from_its_text(gate: Gate) -> None:
    assert Gate.parse(gate.text) == gate
    assert gate.metric in GATE_NAMES
