"""The run-search filter language: what users type and what the store receives."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mloop.errors import InvalidArgument
from mloop.store.query import (
    And,
    Compare,
    Expr,
    Field,
    Op,
    Or,
    OrderKey,
    Value,
    parse_filter,
    parse_order_by,
    to_text,
)

# No example database: the tests leave no .hypothesis/ directory in the checkout.
PROPERTY = settings(database=None, deadline=None, max_examples=300)

P = Field("params", "lr")
M = Field("metrics", "acc")
T = Field("tags", "team")


def a(n: int) -> Compare:
    return Compare(Field("metrics", f"m{n}"), ">", float(n))


def a_text(n: int) -> str:
    return f"metrics.m{n} > {n}"


def assert_invalid(text: str, position: int, phrase: str) -> str:
    """The filter fails at ``position``: the message says so and puts the caret there."""
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text)
    message = str(caught.value)
    head, line, caret = message.split("\n")
    assert head.startswith(f"invalid filter at position {position}: "), message
    assert phrase in head, message
    assert line == "  " + text
    assert caret == "  " + " " * position + "^"
    return head


# --- what parses to what ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc = 1", Compare(M, "=", 1.0)),
        ("metrics.acc != 0.5", Compare(M, "!=", 0.5)),
        ("metrics.acc < -2", Compare(M, "<", -2.0)),
        ("metrics.acc <= 1e-3", Compare(M, "<=", 0.001)),
        ("metrics.acc > .5", Compare(M, ">", 0.5)),
        ("metrics.acc >= -1.5E+2", Compare(M, ">=", -150.0)),
        ("metrics.acc IN (1, 2.5)", Compare(M, "IN", (1.0, 2.5))),
        ("metrics.acc NOT IN (3)", Compare(M, "NOT IN", (3.0,))),
        ("params.lr = '0.01'", Compare(P, "=", "0.01")),
        ("params.lr = 0.01", Compare(P, "=", 0.01)),
        ('params.lr != "adam"', Compare(P, "!=", "adam")),
        ("params.lr < 1", Compare(P, "<", 1.0)),
        ("params.lr >= 1", Compare(P, ">=", 1.0)),
        ("params.lr LIKE '0.%'", Compare(P, "LIKE", "0.%")),
        ("params.lr ILIKE 'A%'", Compare(P, "ILIKE", "A%")),
        ("params.lr IN ('a', \"b\")", Compare(P, "IN", ("a", "b"))),
        ("params.lr NOT IN ('a')", Compare(P, "NOT IN", ("a",))),
        ("tags.team = 'a'", Compare(T, "=", "a")),
        ("tags.team != 'a'", Compare(T, "!=", "a")),
        ("tags.team LIKE '%a'", Compare(T, "LIKE", "%a")),
        ("tags.team ILIKE '%a'", Compare(T, "ILIKE", "%a")),
        ("tags.team IN ('a', 'b')", Compare(T, "IN", ("a", "b"))),
        ("tags.team NOT IN ('a', 'b')", Compare(T, "NOT IN", ("a", "b"))),
        ("attributes.run_id = 'abc'", Compare(Field("attributes", "run_id"), "=", "abc")),
        ("attributes.name LIKE 'x%'", Compare(Field("attributes", "name"), "LIKE", "x%")),
        ("attributes.user != 'ann'", Compare(Field("attributes", "user"), "!=", "ann")),
        (
            "attributes.experiment_id IN (1, 2)",
            Compare(Field("attributes", "experiment_id"), "IN", (1.0, 2.0)),
        ),
        ("attributes.parent_id = 'p'", Compare(Field("attributes", "parent_id"), "=", "p")),
        ("attributes.end_time < 5", Compare(Field("attributes", "end_time"), "<", 5.0)),
    ],
)
def test_each_operator_and_field_kind(text: str, expected: Compare) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("param.lr = 'x'", Field("params", "lr")),
        ("PARAMS.lr = 'x'", Field("params", "lr")),
        ("Metric.lr = 1", Field("metrics", "lr")),
        ("tag.lr = 'x'", Field("tags", "lr")),
        ("attribute.name = 'x'", Field("attributes", "name")),
        ("Attr.NAME = 'x'", Field("attributes", "name")),
        ("params.model.depth = 'x'", Field("params", "model.depth")),
        ("params.a-b/c:d_e.9 = 'x'", Field("params", "a-b/c:d_e.9")),
        ("params.Case = 'x'", Field("params", "Case")),
        ("params.`learning rate` = 'x'", Field("params", "learning rate")),
        ("params.\"learning rate\" = 'x'", Field("params", "learning rate")),
        ("tags.`a\\`b\\\\c` = 'x'", Field("tags", "a`b\\c")),
        ("attributes.`name` = 'x'", Field("attributes", "name")),
    ],
)
def test_field_prefixes_and_keys(text: str, field: Field) -> None:
    expr = parse_filter(text)
    assert isinstance(expr, Compare)
    assert expr.field == field


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'it\\'s'", "it's"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'back\\\\slash'", "back\\slash"),
        ("'kept\\d'", "kept\\d"),
        ('"it\'s"', "it's"),
        ("''", ""),
        ("'AND OR ( ) ,'", "AND OR ( ) ,"),
        ("'ünïcødé 名前'", "ünïcødé 名前"),
    ],
)
def test_string_literals(literal: str, value: str) -> None:
    assert parse_filter(f"tags.t = {literal}") == Compare(Field("tags", "t"), "=", value)


def test_precedence_and_binds_tighter_than_or() -> None:
    assert parse_filter(f"{a_text(1)} OR {a_text(2)} AND {a_text(3)}") == Or(
        (a(1), And((a(2), a(3))))
    )
    assert parse_filter(f"{a_text(1)} AND {a_text(2)} OR {a_text(3)}") == Or(
        (And((a(1), a(2))), a(3))
    )


def test_parentheses_override_precedence() -> None:
    text = f"({a_text(1)} OR {a_text(2)}) AND {a_text(3)}"
    assert parse_filter(text) == And((Or((a(1), a(2))), a(3)))


def test_same_kind_nodes_are_flattened_and_redundant_parentheses_dropped() -> None:
    assert parse_filter(f"{a_text(1)} AND ({a_text(2)} AND {a_text(3)})") == And((a(1), a(2), a(3)))
    assert parse_filter(f"(({a_text(1)} OR {a_text(2)})) OR (({a_text(3)}))") == Or(
        (a(1), a(2), a(3))
    )
    assert parse_filter(f"((({a_text(1)})))") == a(1)


def test_keywords_are_case_insensitive() -> None:
    text = "metrics.m1 > 1 and (tags.t like 'a%' Or tags.t not in ('b')) AND tags.t iLike 'x'"
    assert parse_filter(text) == And(
        (
            a(1),
            Or(
                (
                    Compare(Field("tags", "t"), "LIKE", "a%"),
                    Compare(Field("tags", "t"), "NOT IN", ("b",)),
                )
            ),
            Compare(Field("tags", "t"), "ILIKE", "x"),
        )
    )


def test_the_documented_example() -> None:
    text = (
        "params.lr = '0.01' AND (metrics.acc > 0.9 OR tags.team IN ('a', 'b'))"
        " AND attributes.status != 'FAILED'"
    )
    expected = And(
        (
            Compare(P, "=", "0.01"),
            Or((Compare(M, ">", 0.9), Compare(T, "IN", ("a", "b")))),
            Compare(Field("attributes", "status"), "!=", "FAILED"),
        )
    )
    assert parse_filter(text) == expected
    assert to_text(expected) == text


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_blank_filter_matches_everything(text: str | None) -> None:
    assert parse_filter(text) is None


def test_whitespace_and_newlines_between_tokens_are_free() -> None:
    assert parse_filter("\n metrics.m1>1\tAND\n(metrics.m2>2)") == And((a(1), a(2)))


# --- attributes: status and times ---------------------------------------------------------

STATUS = Field("attributes", "status")
START = Field("attributes", "start_time")


def test_status_is_normalised_to_upper_case() -> None:
    assert parse_filter("attributes.status = 'running'") == Compare(STATUS, "=", "RUNNING")
    assert parse_filter("attr.status IN ('Failed', 'KILLED')") == Compare(
        STATUS, "IN", ("FAILED", "KILLED")
    )


@pytest.mark.parametrize(
    ("literal", "millis"),
    [
        ("1714521600000", 1714521600000.0),
        ("'2024-05-01'", 1714521600000.0),
        ("'2024-05-01T00:00:00'", 1714521600000.0),
        ("'2024-05-01T00:00:00Z'", 1714521600000.0),
        ("'2024-05-01 02:00:00+02:00'", 1714521600000.0),
        ("'2024-05-01T00:00:01.5'", 1714521601500.0),
        ("'1969-12-31T23:59:59Z'", -1000.0),
    ],
)
def test_times_take_milliseconds_or_iso_8601(literal: str, millis: float) -> None:
    assert parse_filter(f"attributes.start_time >= {literal}") == Compare(START, ">=", millis)


def test_time_lists_mix_numbers_and_dates() -> None:
    assert parse_filter("attributes.end_time IN (0, '1970-01-02')") == Compare(
        Field("attributes", "end_time"), "IN", (0.0, 86_400_000.0)
    )


# --- errors: position, caret and reason ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "phrase"),
    [
        # fields
        ("foo.x = 1", 0, "unknown field prefix 'foo.'; fields start with params., metrics."),
        ("acc > 1", 0, "expected a field, found 'acc'"),
        ("status = 'FAILED'", 0, "did you mean attributes.status?"),
        ("params = 'x'", 6, "expected '.' and a key after 'params'"),
        ("params. = 'x'", 7, "missing key after 'params.'"),
        ("params.`` = 'x'", 7, "empty key"),
        ("params.'lr' = 'x'", 7, "quote a key with backticks or double quotes"),
        ("attributes.colour = 'x'", 11, "unknown attribute 'colour'; attributes are run_id, name"),
        ("metrics.a > 1 AND", 17, "expected a field such as params.KEY"),
        ("AND metrics.a > 1", 0, "expected a field such as params.KEY"),
        # operators
        ("metrics.acc", 11, "expected an operator (=, !=, <, <=, >, >=, LIKE"),
        ("metrics.acc 1", 12, "expected an operator"),
        ("metrics.acc ~ 1", 12, "found '~'"),
        ("metrics.acc == 1", 12, "unknown operator '=='; use ="),
        ("metrics.acc <> 1", 12, "unknown operator '<>'; use !="),
        ("metrics.acc NOT LIKE 1", 16, "expected IN after NOT, found 'LIKE'"),
        # values
        ("metrics.acc >", 13, "expected a value after '>', found end of input"),
        ("attributes.status = FAILED", 20, "quote strings: 'FAILED'"),
        ("tags.t = 'abc", 9, "unterminated string"),
        ('tags.t = "abc\\"', 9, "unterminated string"),
        ("params.`lr = 'x'", 7, "unterminated key"),
        ("metrics.acc > 1e999", 14, "out of range"),
        ("metrics.acc > 1.2.3", 14, "expected a value after '>', found '1.2.3'"),
        # lists
        ("tags.t IN ()", 11, "empty IN list"),
        ("tags.t NOT IN ()", 15, "empty NOT IN list"),
        ("tags.t IN 'a'", 10, "expected a list such as ('a', 'b') after IN"),
        ("tags.t IN ('a' 'b')", 15, "expected ',' or ')' in the IN list"),
        ("tags.t IN ('a',)", 15, "expected a value after ','"),
        ("tags.t IN ('a'", 14, "expected ',' or ')' in the IN list, found end of input"),
        # combination
        (
            "(metrics.a > 1",
            14,
            "unbalanced parentheses: expected ')' to close the '(' at position 0",
        ),
        ("metrics.a > 1)", 13, "unbalanced parentheses: this ')' has no matching '('"),
        ("metrics.a > 1 metrics.b > 2", 14, "expected AND, OR or the end, found 'metrics.b'"),
        ("metrics.a > 1 AND metrics.b > 2 xyz", 32, "found 'xyz'"),
        ("()", 1, "expected a field such as params.KEY"),
    ],
)
def test_syntax_errors_point_at_the_problem(text: str, position: int, phrase: str) -> None:
    assert_invalid(text, position, phrase)


@pytest.mark.parametrize(
    ("text", "position", "phrase"),
    [
        ("metrics.acc = 'high'", 14, "metrics.acc takes a number, found 'high'"),
        ("metrics.acc = '0.9'", 14, "found '0.9'; remove the quotes"),
        ("metrics.acc LIKE '%'", 12, "metrics.acc does not take LIKE; use =, !=, <, <=, >, >="),
        ("metrics.acc IN (1, 'x')", 19, "metrics.acc takes a number, found 'x'"),
        ("tags.team = 3", 12, "tags.team takes a string, found 3; quote it: '3'"),
        ("tags.team < 'm'", 10, "does not take <; strings cannot be ordered; use =, !=, LIKE"),
        ("tags.team IN ('a', 2)", 19, "tags.team takes a string"),
        ("params.lr < '0.1'", 12, "params.lr takes a number with <, found '0.1'; remove the"),
        ("params.lr LIKE 1", 15, "params.lr takes a string with LIKE, found 1"),
        ("params.lr IN (1)", 14, "params.lr takes a string with IN"),
        ("attributes.status = 'DONE'", 20, "is one of RUNNING, FINISHED, FAILED, KILLED"),
        ("attributes.status = 1", 20, "attributes.status takes a string"),
        ("attributes.status LIKE 'R%'", 18, "does not take LIKE; use =, !=, IN, NOT IN"),
        ("attributes.start_time > 'soon'", 24, "takes milliseconds since the epoch or an ISO"),
        ("attributes.start_time LIKE '2024%'", 22, "does not take LIKE"),
        ("attributes.name < 'b'", 16, "strings cannot be ordered"),
        ("attributes.experiment_id = '3'", 27, "takes a number, found '3'; remove the quotes"),
        ("attributes.experiment_id = 1.5", 27, "takes a whole number, found 1.5"),
        ("attributes.experiment_id > 1", 25, "does not take >; use =, !=, IN, NOT IN"),
        ("tags.t LIKE 'a\\\\'", 12, "ends with a lone"),
        ("attributes.experiment_id LIKE '1%'", 25, "does not take LIKE"),
    ],
)
def test_type_errors_name_the_field_and_what_it_takes(
    text: str, position: int, phrase: str
) -> None:
    assert_invalid(text, position, phrase)


def test_the_caret_is_under_the_failing_line_of_a_multi_line_filter() -> None:
    text = "metrics.a > 1\n  AND tags.b = 4"
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text)
    assert str(caught.value).split("\n") == [
        "invalid filter at position 29: tags.b takes a string, found 4; quote it: '4'",
        "    AND tags.b = 4",
        "  " + " " * len("  AND tags.b = ") + "^",
    ]


def test_deep_nesting_is_an_invalid_argument_not_a_recursion_error() -> None:
    assert parse_filter("(" * 12 + a_text(1) + ")" * 12) == a(1)
    with pytest.raises(InvalidArgument, match="nested more than 12 deep"):
        parse_filter("(" * 13 + a_text(1) + ")" * 13)
    with pytest.raises(InvalidArgument, match="nested more than 12 deep"):
        parse_filter("(" * 5000 + a_text(1) + ")" * 5000)


def test_a_filter_with_too_many_comparisons_is_refused_with_the_limit() -> None:
    """Databases refuse expressions past a size (SQLite: a depth of 1,000): the filter is
    the user's input, so it is refused as such, saying the limit and what to write."""
    assert parse_filter(" OR ".join(a_text(n) for n in range(500))) == Or(
        tuple(a(n) for n in range(500))
    )
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(" OR ".join(a_text(n) for n in range(5000)))
    message = str(caught.value)
    assert "at most 500 comparisons" in message and "IN (" in message
    assert len(message) < 400  # the filter is shown around the caret, not whole
    values = ", ".join(str(n) for n in range(9_999))
    assert len(parse_filter(f"metrics.m IN ({values}) OR metrics.m NOT IN (1)").items) == 2  # type: ignore[union-attr]
    with pytest.raises(InvalidArgument, match="at most 10,000 values"):
        parse_filter(f"metrics.m IN ({values}, 1) OR metrics.m NOT IN (1)")


def test_a_filter_that_is_not_a_string_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="a filter is a string"):
        parse_filter(3)  # type: ignore[arg-type]


# --- order_by ------------------------------------------------------------------------------


def test_order_by_items() -> None:
    assert parse_order_by(
        ["metrics.acc DESC", "attributes.START_TIME", "params.lr asc", "tags.`a b` desc"]
    ) == [
        OrderKey(M, descending=True),
        OrderKey(START, descending=False),
        OrderKey(P, descending=False),
        OrderKey(Field("tags", "a b"), descending=True),
    ]
    assert parse_order_by([]) == []


@pytest.mark.parametrize(
    ("item", "position", "phrase"),
    [
        ("metrics.acc DOWN", 12, "expected ASC or DESC after the field, found 'DOWN'"),
        ("metrics.acc DESC ASC", 17, "expected ASC or DESC after the field, found 'ASC'"),
        ("foo.acc", 0, "unknown field prefix 'foo.'"),
        ("attributes.colour", 11, "unknown attribute 'colour'"),
        ("DESC", 0, "expected a field"),
    ],
)
def test_bad_order_by_items_are_named(item: str, position: int, phrase: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_order_by(["metrics.ok", item])
    head, line, caret = str(caught.value).split("\n")
    assert head.startswith(f"invalid order_by item {item!r} at position {position}: ")
    assert phrase in head
    assert (line, caret) == ("  " + item, "  " + " " * position + "^")


@pytest.mark.parametrize("items", ["metrics.acc DESC", [""], ["  "], [None]])
def test_order_by_needs_a_list_of_items(items: object) -> None:
    with pytest.raises(InvalidArgument, match="order_by"):
        parse_order_by(items)  # type: ignore[arg-type]


# --- the AST is a frozen value -------------------------------------------------------------


def test_ast_nodes_are_frozen_hashable_values() -> None:
    node = Compare(M, "IN", (1.0, 2.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.op = "="  # type: ignore[misc]
    assert {node, Compare(M, "IN", (1.0, 2.0))} == {node}
    assert not hasattr(node, "__dict__")


def test_to_text_renders_a_canonical_form() -> None:
    expr = parse_filter(
        'param.lr=0.5 or (Metric.acc>3 and tag."a b"="it\'s") '
        "or attr.START_TIME > '1970-01-01T00:00:01Z' or metrics.x in (1e-5, -1e300)"
    )
    assert expr is not None
    assert to_text(expr) == (
        "params.lr = 0.5 OR (metrics.acc > 3 AND tags.`a b` = 'it\\'s') "
        "OR attributes.start_time > 1000 OR metrics.x IN (1e-05, -1e+300)"
    )


def test_to_text_accepts_hand_built_trees_with_ints() -> None:
    expr = Or((Compare(M, ">", 3), Compare(Field("params", "a b"), "IN", ("x", "y"))))
    assert to_text(expr) == "metrics.acc > 3 OR params.`a b` IN ('x', 'y')"
    assert parse_filter(to_text(expr)) == expr


# --- properties ----------------------------------------------------------------------------

STRING_OPS: tuple[Op, ...] = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
NUMERIC_OPS: tuple[Op, ...] = ("=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN")
KEYS = st.one_of(st.from_regex(r"[A-Za-z0-9_\-./:]+", fullmatch=True), st.text(min_size=1))
STRINGS = st.one_of(st.text(), st.text(alphabet="'\"`\\ %_aé名\n"))
NUMBERS = st.floats(allow_nan=False, allow_infinity=False)
STRING_ATTRIBUTES = ("run_id", "name", "user", "parent_id")


def comparisons(
    fields: st.SearchStrategy[Field], ops: tuple[Op, ...], values: st.SearchStrategy[Value]
) -> st.SearchStrategy[Compare]:
    def build(field_and_op: tuple[Field, Op]) -> st.SearchStrategy[Compare]:
        field, op = field_and_op
        if op in ("IN", "NOT IN"):
            tuples = st.lists(values, min_size=1, max_size=4).map(tuple)
            return tuples.map(lambda value: Compare(field, op, value))
        if op in ("LIKE", "ILIKE"):  # a pattern may not end by escaping nothing
            patterns = values.filter(lambda v: not (isinstance(v, str) and dangling(v)))
            return patterns.map(lambda value: Compare(field, op, value))
        return values.map(lambda value: Compare(field, op, value))

    return st.tuples(fields, st.sampled_from(ops)).flatmap(build)


def dangling(pattern: str) -> bool:
    return (len(pattern) - len(pattern.rstrip("\\"))) % 2 == 1


def fields(kind: str, keys: st.SearchStrategy[str] = KEYS) -> st.SearchStrategy[Field]:
    return keys.map(lambda key: Field(kind, key))  # type: ignore[arg-type]


COMPARES = st.one_of(
    comparisons(fields("metrics"), NUMERIC_OPS, NUMBERS),
    comparisons(fields("params"), STRING_OPS, STRINGS),
    comparisons(fields("params"), ("=", "!=", "<", "<=", ">", ">="), NUMBERS),
    comparisons(fields("tags"), STRING_OPS, STRINGS),
    comparisons(
        st.just(STATUS),
        ("=", "!=", "IN", "NOT IN"),
        st.sampled_from(("RUNNING", "FINISHED", "FAILED", "KILLED")),
    ),
    comparisons(
        fields("attributes", st.sampled_from(("start_time", "end_time"))), NUMERIC_OPS, NUMBERS
    ),
    comparisons(fields("attributes", st.sampled_from(STRING_ATTRIBUTES)), STRING_OPS, STRINGS),
    comparisons(
        st.just(Field("attributes", "experiment_id")),
        ("=", "!=", "IN", "NOT IN"),
        st.integers(0, 10**9).map(float),
    ),
)


def joined(cls: type[And] | type[Or], items: list[Expr]) -> Expr:
    flat: list[Expr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


EXPRS: st.SearchStrategy[Expr] = st.recursive(
    COMPARES,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=4).map(lambda items: joined(And, items)),
        st.lists(children, min_size=2, max_size=4).map(lambda items: joined(Or, items)),
    ),
    max_leaves=12,
)


@PROPERTY
@given(EXPRS)
def test_to_text_reads_back_to_an_equal_tree(expr: Expr) -> None:
    assert parse_filter(to_text(expr)) == expr


FRAGMENTS = st.sampled_from(
    [
        "params.lr", "metrics.acc", "tags.`a b`", 'tags."x"', "attr.status",
        "attributes.start_time", "attributes.bogus", "foo.x", "params.", "params",
        "(", ")", ",", "=", "==", "!=", "<", ">=",
        "<>", "~", "AND", "or", "NOT", "IN", "like", "ILIKE", "DESC", "'x'", '"y"', "'", '"', "`",
        "\\", "1", "-2.5e3", "1e999", "1.2.3", "'2024-05-01'", "'0001-01-01T00:00+05:00'",
        "'9999-12-31T23:59-05:00'", "'RUNNING'", "'nope'", "", " ", "\n", "é", "\t", "\x00",
    ]
)  # fmt: skip
TEXTS = st.one_of(
    st.text(),
    st.lists(FRAGMENTS, max_size=12).map(" ".join),
    st.lists(FRAGMENTS, max_size=12).map("".join),
)


@PROPERTY
@given(TEXTS)
def test_any_text_parses_or_raises_invalid_argument(text: str) -> None:
    try:
        expr = parse_filter(text)
    except InvalidArgument as error:
        assert str(error).startswith("invalid filter at position ")
        return
    if expr is not None:
        assert parse_filter(to_text(expr)) == expr


@PROPERTY
@given(TEXTS)
def test_any_order_by_item_parses_or_raises_invalid_argument(text: str) -> None:
    try:
        keys = parse_order_by([text])
    except InvalidArgument as error:
        assert str(error).startswith("invalid order_by item ")
        return
    assert len(keys) == 1
