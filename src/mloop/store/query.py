"""The run-search filter language: ``search_runs(filter=..., order_by=...)``.

A filter keeps the runs for which it is true::

    params.lr = '0.01' AND (metrics.acc > 0.9 OR tags.team IN ('a', 'b'))
        AND attributes.status != 'FAILED'

Grammar (keywords are case-insensitive; AND binds tighter than OR)::

    filter     := or_expr                      empty or blank: every run matches
    or_expr    := and_expr ( OR and_expr )*
    and_expr   := primary ( AND primary )*
    primary    := '(' or_expr ')' | comparison
    comparison := field operator value
    field      := prefix '.' key
    prefix     := params | metrics | tags | attributes
                  (also param, metric, tag, attribute, attr; any case)
    key        := run of A-Z a-z 0-9 _ - . / :      params.model.depth: key 'model.depth'
                | `any text` | "any text"         params.`learning rate`
    operator   := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN
    value      := string | number | '(' literal ( ',' literal )* ')'   lists only after IN
    string     := 'text' | "text"   a backslash escapes the enclosing quote and itself;
                                    any other backslash is kept as typed
    number     := -?digits[.digits][e[+-]digits]   e.g. 3, -0.5, 1e-4 (compared as floats)

What each field accepts::

    field                     operators                  values
    metrics.KEY               = != < <= > >= IN NOT IN   numbers
    params.KEY                = != LIKE ILIKE IN NOT IN  strings (the value as logged)
                              = != < <= > >=             numbers (params whose value is numeric)
    tags.KEY                  = != LIKE ILIKE IN NOT IN  strings
    attributes.status         = != IN NOT IN             RUNNING, FINISHED, FAILED, KILLED
    attributes.start_time     = != < <= > >= IN NOT IN   milliseconds since the epoch, or an
    attributes.end_time                                  ISO-8601 string such as '2024-05-01'
                                                         or '2024-05-01T12:30:00+02:00'
    attributes.experiment_id  = != IN NOT IN             whole numbers (mloop experiments list)
    attributes.run_id, name, user, parent_id
                              = != LIKE ILIKE IN NOT IN  strings

Attribute names and statuses may be written in any case; a date or time without
an offset is UTC. LIKE and ILIKE take SQL patterns (``%`` any run of characters,
``_`` one character); ILIKE ignores case. Strings cannot be compared with
``< <= > >=``: databases order strings differently, so the same filter would find
different runs on SQLite and on PostgreSQL. ``==`` and ``<>`` are rejected with a
hint to write ``=`` and ``!=``.

``order_by`` takes a list of items ``field [ASC | DESC]`` (ascending by default),
e.g. ``["metrics.acc DESC", "attributes.start_time"]``, with the same field syntax.

Limits, set by what the databases take (SQLite refuses an expression more than 1,000
deep, and a flat run of comparisons is as deep as it is long; its parser overflows on
AND and OR nested about 30 deep; a statement binds at most 32,766 values)::

    comparisons         at most 500 in a filter; for many values of one field use IN
    IN and NOT IN lists at most 10,000 values in a filter, all lists together
    parentheses         nested at most 12 deep

A malformed filter raises :class:`~mloop.errors.InvalidArgument` with the
0-based character position, the reason, and the filter with a caret under it
(around it, for a long filter).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias

from mloop.errors import InvalidArgument

FieldKind: TypeAlias = Literal["params", "metrics", "tags", "attributes"]
Op: TypeAlias = Literal["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN"]
Value: TypeAlias = str | float


@dataclass(frozen=True, slots=True)
class Field:
    """``kind.key``; attribute keys are lower case, other keys as the user wrote them."""

    kind: FieldKind
    key: str


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op value``; ``value`` is a tuple exactly when ``op`` is IN or NOT IN."""

    field: Field
    op: Op
    value: Value | tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class And:
    """All of ``items`` (at least two, none of them an ``And``)."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any of ``items`` (at least two, none of them an ``Or``)."""

    items: tuple[Expr, ...]


Expr: TypeAlias = Compare | And | Or


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One parsed ``order_by`` item."""

    field: Field
    descending: bool


ATTRIBUTES = (
    "run_id", "name", "status", "user", "start_time", "end_time", "experiment_id", "parent_id",
)  # fmt: skip
STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED")

_PREFIXES: dict[str, FieldKind] = {
    "params": "params", "param": "params", "metrics": "metrics", "metric": "metrics",
    "tags": "tags", "tag": "tags", "attributes": "attributes", "attribute": "attributes",
    "attr": "attributes",
}  # fmt: skip
_PREFIX_HELP = (
    "fields start with params., metrics., tags. or attributes. "
    "(or param., metric., tag., attribute., attr.)"
)
_OPS: dict[str, Op] = {
    "=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
    "LIKE": "LIKE", "ILIKE": "ILIKE", "IN": "IN",
}  # fmt: skip
_FIELD_HELP = "a field such as params.KEY, metrics.KEY, tags.KEY or attributes.NAME"
_OPERATOR_HELP = "an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)"
_TIME_HELP = "milliseconds since the epoch or an ISO-8601 date such as '2024-05-01T12:30:00Z'"
_KEYWORDS = ("AND", "OR", "NOT", "IN", "LIKE", "ILIKE")
_ORDERING: tuple[Op, ...] = ("<", "<=", ">", ">=")
_NUMERIC_OPS: tuple[Op, ...] = ("=", "!=", *_ORDERING, "IN", "NOT IN")
_STRING_OPS: tuple[Op, ...] = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")

# What a field compares with: its "sort" decides the operators and value types it takes.
_Sort: TypeAlias = Literal["metrics", "params", "string", "status", "time", "id"]
_OPS_BY_SORT: dict[_Sort, tuple[Op, ...]] = {
    "metrics": _NUMERIC_OPS,
    "params": (*_STRING_OPS, *_ORDERING),
    "string": _STRING_OPS,
    "status": ("=", "!=", "IN", "NOT IN"),
    "time": _NUMERIC_OPS,
    "id": ("=", "!=", "IN", "NOT IN"),
}
_MAX_DEPTH = 12  # each level may nest an OR in an AND: 26 levels of SQL at most
_MAX_COMPARISONS = 500  # also SQLite's limit of SELECTs in a compound (an AND intersects)
_MAX_VALUES = 10_000
_SHOWN = 40  # characters of a long filter shown each side of the caret
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_KEY = re.compile(r"[A-Za-z0-9_\-./:]+")
_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_OPERATOR = re.compile(r"==|!=|<>|<=|>=|=|<|>")
_SPACE = re.compile(r"\s+")

_Kind: TypeAlias = Literal["word", "number", "string", "key", "op", "(", ")", ",", "other", "end"]
_PUNCTUATION: dict[str, _Kind] = {"(": "(", ")": ")", ",": ","}


@dataclass(eq=False)
class _Fail(Exception):
    """A syntax error at ``pos``; the public functions turn it into ``InvalidArgument``."""

    pos: int
    reason: str


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    pos: int
    src: str  # the token as typed
    value: str = ""  # the decoded text of a quoted string or key

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.src.upper() in words

    def describe(self) -> str:
        if self.kind == "end":
            return "end of input"
        shown = self.src if len(self.src) <= 30 else self.src[:27] + "..."
        return shown if self.kind in ("string", "key") else repr(shown)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if space := _SPACE.match(text, pos):
            pos = space.end()
            continue
        token = _scan(text, pos)
        tokens.append(token)
        pos += len(token.src)
    tokens.append(_Token("end", len(text), ""))
    return tokens


def _scan(text: str, pos: int) -> _Token:
    """The token starting at ``pos`` (which is not whitespace)."""
    char = text[pos]
    if char in _PUNCTUATION:
        return _Token(_PUNCTUATION[char], pos, char)
    if char in "'\"`":
        value, end = _read_quoted(text, pos)
        return _Token("key" if char == "`" else "string", pos, text[pos:end], value)
    if operator := _OPERATOR.match(text, pos):
        return _Token("op", pos, operator.group())
    number = _NUMBER.match(text, pos)
    if number and not _KEY.match(text, number.end()):  # 1.2.3 and 12ab are words
        return _Token("number", pos, number.group())
    if word := _KEY.match(text, pos):
        return _Token("word", pos, word.group())
    return _Token("other", pos, char)


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The decoded text of the string or key opening at ``start``, and where it ends."""
    quote, chars, pos = text[start], [], start + 1
    while pos < len(text):
        char = text[pos]
        if char == "\\" and text[pos + 1 : pos + 2] in (quote, "\\"):
            chars.append(text[pos + 1])
            pos += 2
        elif char == quote:
            return "".join(chars), pos + 1
        else:
            chars.append(char)
            pos += 1
    what = "key" if quote == "`" else "string"
    raise _Fail(start, f"unterminated {what}: the {quote} opened here is never closed")


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Value
    token: _Token


class _Parser:
    """Recursive descent over the tokens of one filter or order_by item."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.comparisons = 0
        self.values = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def next(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def whole_filter(self) -> Expr:
        expr = self.or_expr()
        token = self.peek()
        if token.kind == ")":
            raise _Fail(token.pos, "unbalanced parentheses: this ')' has no matching '('")
        if token.kind != "end":
            raise _Fail(token.pos, f"expected AND, OR or the end, found {token.describe()}")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.peek().is_word("OR"):
            self.next()
            items.append(self.and_expr())
        return _join(Or, items)

    def and_expr(self) -> Expr:
        items = [self.primary()]
        while self.peek().is_word("AND"):
            self.next()
            items.append(self.primary())
        return _join(And, items)

    def primary(self) -> Expr:
        if self.peek().kind != "(":
            return self.comparison()
        opening = self.next()
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Fail(opening.pos, f"parentheses nested more than {_MAX_DEPTH} deep")
        expr = self.or_expr()
        closing = self.next()
        if closing.kind != ")":
            raise _Fail(
                closing.pos,
                f"unbalanced parentheses: expected ')' to close the '(' at position "
                f"{opening.pos}, found {closing.describe()}",
            )
        self.depth -= 1
        return expr

    def comparison(self) -> Compare:
        self.comparisons += 1
        if self.comparisons > _MAX_COMPARISONS:
            raise _Fail(
                self.peek().pos,
                f"a filter holds at most {_MAX_COMPARISONS} comparisons, which the databases "
                "can run; for many values of one field, use IN ('a', 'b', ...)",
            )
        field = self.field()
        op_token = self.peek()
        op = self.operator(field)
        sort = _sort(field)
        if op not in _OPS_BY_SORT[sort]:
            ops = ", ".join(_OPS_BY_SORT[sort])
            why = "; strings cannot be ordered" if op in _ORDERING and sort != "id" else ""
            raise _Fail(op_token.pos, f"{_field_text(field)} does not take {op}{why}; use {ops}")
        if op in ("IN", "NOT IN"):
            values = tuple(self.coerce(field, sort, op, lit) for lit in self.value_list(op))
            return Compare(field, op, values)
        return Compare(field, op, self.coerce(field, sort, op, self.literal(op)))

    def field(self) -> Field:
        token = self.next()
        if token.kind != "word" or token.is_word(*_KEYWORDS):
            raise _Fail(token.pos, f"expected {_FIELD_HELP}, found {token.describe()}")
        prefix, dot, key = token.src.partition(".")
        kind = _PREFIXES.get(prefix.lower())
        if kind is None:
            if dot:
                raise _Fail(token.pos, f"unknown field prefix '{prefix}.'; {_PREFIX_HELP}")
            name = prefix.lower()
            hint = f"; did you mean attributes.{name}?" if name in ATTRIBUTES else ""
            found = f"found {token.describe()}"
            raise _Fail(token.pos, f"expected a field, {found}; {_PREFIX_HELP}{hint}")
        if not dot:
            raise _Fail(token.pos + len(prefix), f"expected '.' and a key after {prefix!r}")
        key_pos = token.pos + len(prefix) + 1
        if not key:
            key, key_pos = self.quoted_key(token)
        if kind == "attributes":
            if key.lower() not in ATTRIBUTES:
                allowed = ", ".join(ATTRIBUTES)
                raise _Fail(key_pos, f"unknown attribute {key!r}; attributes are {allowed}")
            key = key.lower()
        return Field(kind, key)

    def quoted_key(self, prefix: _Token) -> tuple[str, int]:
        """The `quoted` or "quoted" key written right after ``prefix`` (``params.``)."""
        token, after = self.peek(), prefix.pos + len(prefix.src)
        if token.pos != after or token.kind not in ("key", "string"):
            raise _Fail(after, f"missing key after {prefix.src!r}")
        if token.src.startswith("'"):
            raise _Fail(token.pos, "quote a key with backticks or double quotes, not '")
        if not token.value:
            raise _Fail(token.pos, "empty key")
        self.next()
        return token.value, token.pos

    def operator(self, field: Field) -> Op:
        token = self.next()
        if token.src in ("==", "<>"):
            instead = "=" if token.src == "==" else "!="
            raise _Fail(token.pos, f"unknown operator {token.src!r}; use {instead}")
        if token.kind in ("op", "word") and token.src.upper() in _OPS:
            return _OPS[token.src.upper()]
        if token.is_word("NOT"):
            after = self.next()
            if after.is_word("IN"):
                return "NOT IN"
            raise _Fail(after.pos, f"expected IN after NOT, found {after.describe()}")
        found = f"after '{_field_text(field)}', found {token.describe()}"
        raise _Fail(token.pos, f"expected {_OPERATOR_HELP} {found}")

    def value_list(self, op: Op) -> list[_Literal]:
        opening = self.next()
        if opening.kind != "(":
            found = opening.describe()
            raise _Fail(
                opening.pos, f"expected a list such as ('a', 'b') after {op}, found {found}"
            )
        if self.peek().kind == ")":
            raise _Fail(self.peek().pos, f"empty {op} list: give at least one value")
        items = [self.literal("(")]
        while (token := self.next()).kind == ",":
            items.append(self.literal(","))
        self.values += len(items)
        if self.values > _MAX_VALUES:
            raise _Fail(
                opening.pos,
                f"IN and NOT IN lists hold at most {_MAX_VALUES:,} values in a filter, "
                "all lists together",
            )
        if token.kind != ")":
            raise _Fail(
                token.pos, f"expected ',' or ')' in the {op} list, found {token.describe()}"
            )
        return items

    def literal(self, after: str) -> _Literal:
        token = self.next()
        if token.kind == "string":
            return _Literal(token.value, token)
        if token.kind == "number":
            number = float(token.src)
            if not math.isfinite(number):
                raise _Fail(token.pos, f"number {token.src} is out of range")
            return _Literal(number, token)
        hint = f"; quote strings: '{token.src}'" if token.kind == "word" else ""
        raise _Fail(token.pos, f"expected a value after '{after}', found {token.describe()}{hint}")

    def coerce(self, field: Field, sort: _Sort, op: Op, lit: _Literal) -> Value:
        """Check ``lit`` against what ``field`` takes with ``op``; normalise it."""
        name, value, src, pos = _field_text(field), lit.value, lit.token.src, lit.token.pos
        if sort == "time" and isinstance(value, str):
            millis = _to_millis(value)
            if millis is None:
                raise _Fail(pos, f"{name} takes {_TIME_HELP}, found {src}")
            return millis
        wants = _wanted(sort, op)
        with_op = f" with {op}" if sort == "params" else ""
        if wants == "number" and isinstance(value, str):
            hint = "; remove the quotes" if _NUMBER.fullmatch(value.strip()) else ""
            raise _Fail(pos, f"{name} takes a number{with_op}, found {src}{hint}")
        if wants == "string" and isinstance(value, float):
            raise _Fail(pos, f"{name} takes a string{with_op}, found {src}; quote it: '{src}'")
        if op in ("LIKE", "ILIKE") and isinstance(value, str) and _dangling_escape(value):
            raise _Fail(pos, f"pattern {src} ends with a lone \\; write \\\\ for a backslash")
        if sort == "id" and isinstance(value, float) and not value.is_integer():
            raise _Fail(pos, f"{name} takes a whole number, found {src}")
        if sort == "status" and isinstance(value, str):
            if value.upper() not in STATUSES:
                raise _Fail(pos, f"{name} is one of {', '.join(STATUSES)}, found {src}")
            return value.upper()
        return value


def _dangling_escape(pattern: str) -> bool:
    """Whether a LIKE pattern ends with an odd run of backslashes (an escape of nothing)."""
    return (len(pattern) - len(pattern.rstrip("\\"))) % 2 == 1


def _sort(field: Field) -> _Sort:
    if field.kind != "attributes":
        return "string" if field.kind == "tags" else field.kind
    if field.key == "status":
        return "status"
    if field.key == "experiment_id":
        return "id"
    return "time" if field.key in ("start_time", "end_time") else "string"


def _wanted(sort: _Sort, op: Op) -> Literal["number", "string", "either"]:
    if sort in ("metrics", "time", "id"):
        return "number"
    if sort != "params":
        return "string"
    if op in _ORDERING:
        return "number"
    return "either" if op in ("=", "!=") else "string"


def _to_millis(text: str) -> float | None:
    """An ISO-8601 date or datetime as milliseconds since the epoch (naive means UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (moment - _EPOCH) / timedelta(milliseconds=1)
    except (ValueError, OverflowError):
        return None


def _join(cls: type[And] | type[Or], items: list[Expr]) -> Expr:
    """``items`` joined with ``cls``, nested nodes of the same class flattened."""
    if len(items) == 1:
        return items[0]
    flat: list[Expr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


def _error(head: str, text: str, failure: _Fail) -> InvalidArgument:
    """``head at position N: reason``, then the (line of) text with a caret under N."""
    start = text.rfind("\n", 0, failure.pos) + 1
    end = text.find("\n", failure.pos)
    end = len(text) if end < 0 else end
    before, after = "", ""
    if failure.pos - start > _SHOWN:
        start, before = failure.pos - _SHOWN, "…"
    if end - failure.pos > _SHOWN:
        end, after = failure.pos + _SHOWN, "…"
    line = before + re.sub(r"\s", " ", text[start:end]) + after
    caret = " " * (len(before) + failure.pos - start) + "^"
    reason = f"{head} at position {failure.pos}: {failure.reason}"
    return InvalidArgument(f"{reason}\n  {line}\n  {caret}")


def parse_filter(text: str | None) -> Expr | None:
    """Parse a filter (grammar in the module docstring); ``None`` if it is blank."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidArgument(f"a filter is a string, not {type(text).__name__}")
    if not text.strip():
        return None
    try:
        return _Parser(text).whole_filter()
    except _Fail as failure:
        raise _error("invalid filter", text, failure) from None


def parse_order_by(items: Sequence[str]) -> list[OrderKey]:
    """Parse ``order_by`` items such as ``"metrics.acc DESC"`` (ascending by default)."""
    if isinstance(items, str):
        raise InvalidArgument(f"order_by is a list of items such as [{items!r}], not a string")
    return [_order_key(item) for item in items]


def _order_key(item: str) -> OrderKey:
    if not isinstance(item, str) or not item.strip():
        raise InvalidArgument(
            f"invalid order_by item {item!r}: expected 'field [ASC|DESC]', e.g. 'metrics.acc DESC'"
        )
    try:
        parser = _Parser(item)
        field = parser.field()
        descending = parser.peek().is_word("DESC")
        if parser.peek().is_word("ASC", "DESC"):
            parser.next()
        if (token := parser.next()).kind != "end":
            raise _Fail(
                token.pos, f"expected ASC or DESC after the field, found {token.describe()}"
            )
    except _Fail as failure:
        raise _error(f"invalid order_by item {item!r}", item, failure) from None
    return OrderKey(field, descending)


def to_text(expr: Expr) -> str:
    """The canonical text of ``expr``: upper-case keywords, single-quoted strings, and
    parentheses around every nested AND/OR (``a OR (b AND c)``)."""
    if isinstance(expr, Compare):
        if isinstance(expr.value, tuple):
            value = "(" + ", ".join(_value_text(item) for item in expr.value) + ")"
        else:
            value = _value_text(expr.value)
        return f"{_field_text(expr.field)} {expr.op} {value}"
    joiner = " AND " if isinstance(expr, And) else " OR "
    parts = (to_text(i) if isinstance(i, Compare) else f"({to_text(i)})" for i in expr.items)
    return joiner.join(parts)


def _field_text(field: Field) -> str:
    if _KEY.fullmatch(field.key):
        return f"{field.kind}.{field.key}"
    return f"{field.kind}.`{_escape(field.key, '`')}`"


def _value_text(value: Value) -> str:
    if isinstance(value, str):
        return "'" + _escape(value, "'") + "'"
    number = float(value)  # a hand-built tree may hold an int
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))  # exact: 3 rather than 3.0, 1714521600000 rather than 1.7e12
    return repr(number)


def _escape(text: str, quote: str) -> str:
    return text.replace("\\", "\\\\").replace(quote, "\\" + quote)
