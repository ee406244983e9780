"""Run search: SQL results agree with the documented semantics, on both backends.

The oracle below is the specification in plain Python: a comparison matches
only runs that have the key, NaN never matches, params compare as numbers when
the filter value is a number, strings compare by code point.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mloop.errors import InvalidArgument
from mloop.store import MetricPoint, Run, RunQuery, Store, open_store
from mloop.store.query import And, Compare, Expr, Field, Or, parse_filter, to_text
from mloop.store.validate import as_number

PARAM_VALUES = ["0.1", "1", "10", "abc", "Abc", "a_c", "1e3", ""]
METRIC_VALUES = [0.0, 0.5, 1.0, -2.0, math.inf, math.nan, 3.25]
TAG_VALUES = ["red", "Red", "blue", "re%", "x"]


@pytest.fixture
def store(store_uri: str) -> Iterator[Store]:
    s = open_store(store_uri)
    yield s
    s.close()


def populate(store: Store, n: int = 40) -> list[Run]:
    exp = store.experiments.ensure("search")
    for i in range(n):
        run = store.runs.create(exp.id, name=f"run-{i % 7}", user=f"u{i % 3}", start_time=1000 + i)
        if i % 5:
            store.runs.log_params(run.id, {"p": PARAM_VALUES[i % len(PARAM_VALUES)]})
        if i % 4:
            store.runs.log_params(run.id, {"q": PARAM_VALUES[(i * 3) % len(PARAM_VALUES)]})
        if i % 3:
            value = METRIC_VALUES[i % len(METRIC_VALUES)]
            store.runs.log_metrics(run.id, [MetricPoint("m", value, 0, 0)])
        if i % 2:
            store.runs.set_tags(run.id, {"t": TAG_VALUES[i % len(TAG_VALUES)]})
    return store.runs.search(RunQuery(max_results=1000)).items


def _like(pattern: str, text: str, fold: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    if fold:
        return re.fullmatch(regex, text, flags=re.IGNORECASE | re.DOTALL) is not None
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def _field_value(run: Run, field: Field, numeric: bool) -> object:
    if field.kind == "params":
        raw = run.params.get(field.key)
        return None if raw is None else (as_number(raw) if numeric else raw)
    if field.kind == "metrics":
        value = run.metrics.get(field.key)
        return None if value is None or math.isnan(value) else value
    if field.kind == "tags":
        return run.tags.get(field.key)
    return {"name": run.name, "user": run.user, "start_time": run.start_time}[field.key]


def matches(run: Run, expr: Expr) -> bool:
    if isinstance(expr, And):
        return all(matches(run, e) for e in expr.items)
    if isinstance(expr, Or):
        return any(matches(run, e) for e in expr.items)
    value = expr.value
    numeric = isinstance(value, float) or (isinstance(value, tuple) and isinstance(value[0], float))
    actual = _field_value(run, expr.field, numeric)
    if actual is None:
        return False
    ops = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "IN": lambda a, b: a in b,
        "NOT IN": lambda a, b: a not in b,
        "LIKE": lambda a, b: _like(b, a, False),
        "ILIKE": lambda a, b: _like(b, a, True),
    }
    return bool(ops[expr.op](actual, value))


def compares() -> st.SearchStrategy[Compare]:
    ordering = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
    strings = st.sampled_from(PARAM_VALUES + TAG_VALUES + ["a%", "%c", "_bc", "%"])
    numbers = st.sampled_from([0.0, 0.1, 0.5, 1.0, 10.0, -2.0, 1000.0])
    param_key = st.sampled_from(["p", "q", "missing"])
    tag_key = st.sampled_from(["t", "nope"])
    string_lists = st.lists(strings, min_size=1, max_size=3).map(tuple)

    def cmp(
        kind: str,
        key: st.SearchStrategy[str],
        op: st.SearchStrategy[str],
        value: st.SearchStrategy[object],
    ) -> st.SearchStrategy[Compare]:
        return st.builds(lambda k, o, v: Compare(Field(kind, k), o, v), key, op, value)  # type: ignore[arg-type]

    return st.one_of(
        cmp("params", param_key, st.sampled_from(["=", "!=", "LIKE", "ILIKE"]), strings),
        cmp("params", param_key, ordering, numbers),
        cmp("params", param_key, st.sampled_from(["IN", "NOT IN"]), string_lists),
        cmp("metrics", st.just("m"), ordering, numbers),
        cmp(
            "metrics",
            st.just("m"),
            st.sampled_from(["IN", "NOT IN"]),
            st.lists(numbers, min_size=1, max_size=3).map(tuple),
        ),
        cmp("tags", tag_key, st.sampled_from(["=", "!=", "LIKE", "ILIKE"]), strings),
        cmp("tags", tag_key, st.sampled_from(["IN", "NOT IN"]), string_lists),
        cmp(
            "attributes",
            st.sampled_from(["name", "user"]),
            st.sampled_from(["=", "!=", "LIKE"]),
            st.sampled_from(["run-1", "u2", "run-%", "u_"]),
        ),
        cmp(
            "attributes", st.just("start_time"), ordering, st.sampled_from([1000.0, 1010.0, 1039.0])
        ),
    )


def exprs() -> st.SearchStrategy[Expr]:
    return st.recursive(
        compares(),
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        ),
        max_leaves=5,
    )


@pytest.mark.slow
def test_filters_agree_with_the_specification(store: Store) -> None:
    runs = populate(store)

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(expr=exprs())
    def check(expr: Expr) -> None:
        text = to_text(expr)
        found = {r.id for r in store.runs.search(RunQuery(filter=text, max_results=1000)).items}
        expected = {r.id for r in runs if matches(r, expr)}
        assert found == expected, text

    check()


def test_and_or_with_parentheses(store: Store) -> None:
    runs = populate(store)
    text = "(params.p = 'abc' OR metrics.m >= 1) AND attributes.user != 'u0'"
    found = {r.id for r in store.runs.search(RunQuery(filter=text, max_results=1000)).items}
    expected = {
        r.id
        for r in runs
        if (
            r.params.get("p") == "abc"
            or (not math.isnan(r.metrics.get("m", math.nan)) and r.metrics["m"] >= 1)
        )
        and r.user != "u0"
    }
    assert found == expected and found


def test_order_by_metric_puts_missing_last(store: Store) -> None:
    populate(store)
    items = store.runs.search(RunQuery(order_by=["metrics.m DESC"], max_results=1000)).items
    values = [r.metrics.get("m") for r in items]
    present = [v for v in values if v is not None and not math.isnan(v)]
    assert present == sorted(present, reverse=True)
    assert values[-1] is None
    by_param = store.runs.search(RunQuery(order_by=["params.p ASC"], max_results=1000)).items
    numbers = [as_number(r.params["p"]) for r in by_param if "p" in r.params]
    finite = [n for n in numbers if n is not None]
    assert finite == sorted(finite)


@pytest.mark.parametrize(
    ("text", "position"),
    [("metrics.acc >", 13), ("params.x == 1", 9), ("foo.x = 1", 0), ("(metrics.a > 1", 14)],
)
def test_malformed_filters_point_at_the_position(store: Store, text: str, position: int) -> None:
    with pytest.raises(InvalidArgument) as error:
        store.runs.search(RunQuery(filter=text))
    assert f"position {position}" in str(error.value)


def test_experiment_id_filters_by_the_integer_id(store: Store) -> None:
    first = store.experiments.ensure("first")
    second = store.experiments.ensure("second")
    a = store.runs.create(first.id, name="a", user="u", start_time=1).id
    b = store.runs.create(second.id, name="b", user="u", start_time=2).id
    found = store.runs.search(RunQuery(filter=f"attributes.experiment_id = {second.id}")).items
    assert [r.id for r in found] == [b]
    both = f"attributes.experiment_id IN ({first.id}, {second.id})"
    assert {r.id for r in store.runs.search(RunQuery(filter=both)).items} == {a, b}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"a\_b", {"a_b"}),  # an escaped wildcard is literal
        ("a_b", {"a_b", "axb", "a\\b"}),
        (r"a\%", {"a%"}),
        ("a%", {"a_b", "axb", "a%", "a\\b"}),
    ],
)
def test_like_escapes_the_same_everywhere(store: Store, pattern: str, expected: set[str]) -> None:
    exp = store.experiments.ensure("like")
    for name in ("a_b", "axb", "a%", "a\\b", "Ärger"):
        store.runs.create(exp.id, name=name, user="u", start_time=0)
    text = f"attributes.name LIKE '{pattern.replace(chr(92), chr(92) * 2)}'"
    assert {r.name for r in store.runs.search(RunQuery(filter=text)).items} == expected


def test_ilike_folds_unicode_case_everywhere(store: Store) -> None:
    exp = store.experiments.ensure("ilike")
    for name in ("Ärger", "ärger", "arger"):
        store.runs.create(exp.id, name=name, user="u", start_time=0)
    found = store.runs.search(RunQuery(filter="attributes.name ILIKE 'ä%'")).items
    assert {r.name for r in found} == {"Ärger", "ärger"}


def test_the_largest_filters_allowed_run_and_larger_ones_are_refused(store: Store) -> None:
    """Filters at the documented limits (500 comparisons, parentheses 12 deep, 10,000
    values in IN lists) run on the database and agree with the oracle; a larger one is
    the user's error (InvalidArgument), not a database failure."""
    runs = populate(store, 12)
    params = [f"params.p = '{PARAM_VALUES[i % 8]}{i}'" for i in range(474)]
    nested = " OR ".join([*params, "params.q NOT IN ('1')", "tags.t LIKE 're%'"])
    for depth in range(12):  # an OR in an AND in each pair of parentheses: SQL's deepest
        nested = f"metrics.m >= {depth - 6} OR tags.t != 'x' AND ({nested})"
    strings = ", ".join(f"'{PARAM_VALUES[i % 8]}{i}'" for i in range(9_998))
    filters = [
        " OR ".join(f"tags.t = '{TAG_VALUES[i % 5]}{i}'" for i in range(500)),
        " AND ".join(f"metrics.m != {i}" for i in range(500)),
        nested,
        f"params.p IN ('abc', {strings}) OR metrics.m NOT IN (0.5)",
        " AND ".join(  # many ANDed comparisons beside attributes and an OR
            [
                *(f"metrics.m != {i}" for i in range(10)),
                "attributes.start_time >= 1003",
                "(tags.t = 'red' OR params.p = 'abc')",
                "params.q != 'zzz'",
            ]
        ),
    ]
    for text in filters:
        found = store.runs.search(RunQuery(filter=text, max_results=1000)).items
        expr = parse_filter(text)
        assert expr is not None
        assert {r.id for r in found} == {r.id for r in runs if matches(r, expr)}
    too_many = " OR ".join(f"params.p = 'v{i}'" for i in range(5_000))
    with pytest.raises(InvalidArgument, match="at most 500 comparisons"):
        store.runs.search(RunQuery(filter=too_many))
