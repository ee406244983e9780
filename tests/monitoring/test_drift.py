"""Drift tests: equal to SciPy's definitions, few false alarms, and the shifts they must see."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, wasserstein_distance

from mloop.blobs import Digest
from mloop.errors import InvalidArgument
from mloop.monitoring import Reference, build_reference, detect, stattests
from mloop.tracking.client import Client

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
samples = arrays(np.float64, st.integers(1, 300), elements=finite)
counts = st.lists(st.integers(1, 10_000), min_size=2, max_size=12)


@settings(max_examples=200, deadline=None)
@given(a=samples, b=samples)
def test_wasserstein_is_scipys(a: np.ndarray, b: np.ndarray) -> None:
    ours = stattests.wasserstein(np.sort(a), np.sort(b))
    assert ours == pytest.approx(wasserstein_distance(a, b), rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), ref=counts)
def test_chi_square_and_jensen_shannon_are_scipys(data: st.DataObject, ref: list[int]) -> None:
    cur = data.draw(st.lists(st.integers(0, 10_000), min_size=len(ref), max_size=len(ref)))
    if sum(cur) == 0:
        cur[0] = 1
    r, c = np.array(ref, float), np.array(cur, float)
    statistic, p_value = stattests.chi_square(r, c)
    seen = (r + c) > 0
    expected = chi2_contingency(np.vstack([r, c])[:, seen], correction=False)
    assert statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-300)
    assert stattests.jensen_shannon(r, c) == pytest.approx(
        jensenshannon(r / r.sum(), c / c.sum()), abs=1e-9
    )


def test_a_stored_reference_gives_the_same_verdicts_as_the_data(tmp_path: object) -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(size=30_000), "c": rng.choice(list("abc"), 30_000)})
    cur = pd.DataFrame({"x": rng.normal(0.3, 1, 5_000), "c": rng.choice(list("abcc"), 5_000)})
    stored = Reference.from_dict(build_reference(ref).to_dict())
    direct, kept = detect(ref, cur), detect(stored, cur)
    assert [f.drifted for f in direct.features] == [f.drifted for f in kept.features] == [True] * 2
    exact = wasserstein_distance(ref["x"], cur["x"]) / ref["x"].std(ddof=0)
    assert kept.features[0].statistic == pytest.approx(exact, rel=0.01)  # 10,000 quantiles


TRIALS = 200


def _rate(make: object, size: int) -> float:
    rng = np.random.default_rng(2026)
    drifted = 0
    for _ in range(TRIALS):
        ref, cur = make(rng, size)  # type: ignore[operator]
        drifted += detect(ref, cur).features[0].drifted
    return drifted / TRIALS


def _numbers(shift: float):  # type: ignore[no-untyped-def]
    return lambda rng, n: (
        pd.DataFrame({"x": rng.normal(size=n)}),
        pd.DataFrame({"x": rng.normal(shift, 1, n)}),
    )


def _categories(moved: float):  # type: ignore[no-untyped-def]
    before, after = [0.5, 0.3, 0.2], [0.5 - moved, 0.3, 0.2 + moved]
    return lambda rng, n: (
        pd.DataFrame({"c": rng.choice(list("abc"), n, p=before)}),
        pd.DataFrame({"c": rng.choice(list("abc"), n, p=after)}),
    )


@pytest.mark.parametrize("size", [500, 5_000], ids=["tests", "distances"])
@pytest.mark.parametrize("make", [_numbers(0.0), _categories(0.0)], ids=["numeric", "categorical"])
def test_stable_data_rarely_drifts(make: object, size: int) -> None:
    assert _rate(make, size) <= 0.05


@pytest.mark.parametrize("size", [500, 5_000], ids=["tests", "distances"])
@pytest.mark.parametrize(
    "make", [_numbers(0.5), _categories(0.2)], ids=["mean+0.5sd", "20pts-moved"]
)
def test_documented_shifts_are_detected(make: object, size: int) -> None:
    assert _rate(make, size) >= 0.95


def test_bad_inputs_say_what_is_wrong() -> None:
    ref = pd.DataFrame({"x": np.arange(50.0), "c": ["a", "b"] * 25})
    with pytest.raises(InvalidArgument, match="has no column 'c'"):
        detect(ref, ref[["x"]])
    with pytest.raises(InvalidArgument, match="no rows"):
        detect(ref, ref.iloc[:0])
    with pytest.raises(InvalidArgument, match="no rows"):
        detect(ref.iloc[:0], ref)
    with pytest.raises(InvalidArgument, match="unknown drift test 'zscore'"):
        detect(ref, ref, method="zscore")
    with pytest.raises(InvalidArgument, match="categorical: ks compares numbers"):
        detect(ref, ref, method={"c": "ks"})
    with pytest.raises(InvalidArgument, match="drift_share"):
        detect(ref, ref, drift_share=0)


def test_awkward_columns_get_a_verdict_or_a_reason() -> None:
    ref = pd.DataFrame({"x": np.arange(50.0), "k": 7.0, "e": np.nan, "t": ["a"] * 50})
    nulls = ref.assign(x=np.nan)
    result = detect(ref, nulls)
    notes = {f.column: f.note for f in result.features}
    assert "the current window has no values" in notes["x"]
    assert "reference has no values" in notes["e"]
    assert not result.features[1].drifted  # a constant that stays constant
    single = detect(ref, ref.iloc[[3]])
    assert single.rows == 1 and len(single.tested) == 3
    text = detect(ref, ref.assign(x="high"))
    assert "expected numbers" in text.features[0].note


def test_the_same_values_count_the_same_whatever_their_dtype() -> None:
    reference = pd.DataFrame({"n": [0, 1, 2, np.nan] * 300, "b": [True, False] * 600})
    current = pd.DataFrame({"n": [0, 1, 2] * 100, "b": np.array([True, False] * 150, dtype=object)})
    result = detect(reference, current)
    assert [f.drifted for f in result.features] == [False, False], result.features


def test_a_small_window_gets_a_test_not_a_distance() -> None:
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"x": rng.normal(size=20_000)})
    alarms = sum(
        detect(reference, pd.DataFrame({"x": rng.normal(size=50)})).drifted for _ in range(100)
    )
    assert alarms <= 10  # a fixed distance threshold would flag most 50-row windows
    assert detect(reference, pd.DataFrame({"x": rng.normal(size=50)})).features[0].test == "ks"


def test_a_versions_stored_reference_survives_garbage_collection(client: Client) -> None:
    from datetime import timedelta

    from mloop.data.client import DataClient
    from mloop.monitoring.sources import REFERENCE_TAG, stored_reference

    data = DataClient(client)
    frame = pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50})
    data.add(frame, "small")
    _, first = stored_reference(data, "small@1")
    digest = data.version("small@1").tags[REFERENCE_TAG]
    client.garbage_collect(delete=True, min_age=timedelta(0))
    assert client.blobs.exists([Digest(digest)]) == {Digest(digest)}
    _, again = stored_reference(data, "small@1")
    assert again.to_dict() == first.to_dict()
