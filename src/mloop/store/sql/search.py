"""Compiling run-search filters (``mloop.store.query``) into SQL.

Each comparison on a param, metric or tag becomes an ``EXISTS`` on the primary
key index of its table, so a filter over tens of thousands of runs stays an
index walk. A comparison only matches runs that have the key; NaN metric values
never match (they are stored as NULL).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

import sqlalchemy as sa

from mloop.errors import InvalidArgument
from mloop.store.entities import Page, Run
from mloop.store.interfaces import RunQuery
from mloop.store.query import And, Compare, Expr, Field, Or, OrderKey, parse_filter, parse_order_by
from mloop.store.sql.rows import load_runs
from mloop.store.sql.schema import latest_metrics, params, runs, tags

MAX_RESULTS = 50_000
_ATTRIBUTES: dict[str, sa.Column[object]] = {
    "run_id": runs.c.id,
    "name": runs.c.name,
    "status": runs.c.status,
    "user": runs.c.user_name,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
    "experiment_id": runs.c.experiment_id,
    "parent_id": runs.c.parent_id,
}
_CHILDREN = {"params": params, "metrics": latest_metrics, "tags": tags}
_JOINED = 8  # ANDed comparisons planned as joins; more are intersected (see _all)


def search(conn: sa.Connection, query: RunQuery) -> Page[Run]:
    if type(query.max_results) is not int or not 1 <= query.max_results <= MAX_RESULTS:
        raise InvalidArgument(f"max_results must be between 1 and {MAX_RESULTS}")
    offset = _decode_token(query.page_token, _fingerprint(query))
    postgres = conn.dialect.name == "postgresql"
    stmt = sa.select(runs)
    if query.experiment_ids is not None:
        stmt = stmt.where(runs.c.experiment_id.in_(list(query.experiment_ids)))
    expr = parse_filter(query.filter)
    if expr is not None:
        stmt = stmt.where(_condition(expr))
    order = [c for key in parse_order_by(query.order_by) for c in _ordering(key, postgres)]
    stmt = stmt.order_by(*order, runs.c.start_time.desc(), runs.c.id)
    found = load_runs(conn, stmt.limit(query.max_results + 1).offset(offset))
    if len(found) > query.max_results:
        next_token = _encode_token(offset + query.max_results, _fingerprint(query))
        return Page(found[: query.max_results], next_token)
    return Page(found, None)


def _condition(expr: Expr) -> sa.ColumnElement[bool]:
    if isinstance(expr, And):
        return _all(expr.items)
    if isinstance(expr, Or):
        return sa.or_(*(_condition(e) for e in expr.items))
    return _compare(expr)


def _all(items: tuple[Expr, ...]) -> sa.ColumnElement[bool]:
    """``items`` ANDed; many comparisons of params, metrics or tags as one intersection of
    the runs each matches: PostgreSQL plans each ``IN (SELECT ...)`` of an AND as a join,
    and the time it takes to order them grows steeply past a few dozen (a minute for 200)."""
    keyed = [e for e in items if isinstance(e, Compare) and e.field.kind != "attributes"]
    if len(keyed) <= _JOINED:
        return sa.and_(*(_condition(e) for e in items))
    rest = [e for e in items if not (isinstance(e, Compare) and e.field.kind != "attributes")]
    matching = sa.intersect(*(_matching(e) for e in keyed))
    return sa.and_(runs.c.id.in_(matching), *(_condition(e) for e in rest))


def _compare(cmp: Compare) -> sa.ColumnElement[bool]:
    field = cmp.field
    if field.kind == "attributes":
        column = _ATTRIBUTES[field.key]
        return _apply(column, cmp.op, cmp.value)
    return runs.c.id.in_(_matching(cmp))


def _matching(cmp: Compare) -> sa.Select[tuple[str]]:
    """The ids of the runs whose param, metric or tag satisfies ``cmp``."""
    field = cmp.field
    table = _CHILDREN[field.kind]
    numeric = field.kind == "params" and _is_numeric(cmp.value)
    column = table.c.num if numeric else table.c.value
    return sa.select(table.c.run_id).where(
        table.c.key == field.key, _apply(column, cmp.op, cmp.value)
    )


def _apply(column: sa.ColumnElement[object], op: str, value: object) -> sa.ColumnElement[bool]:
    if op in ("IN", "NOT IN"):
        values = list(value) if isinstance(value, tuple) else [value]
        return column.in_(values) if op == "IN" else column.not_in(values)
    match op:
        case "=":
            return column == value
        case "!=":
            return column != value
        case "<":
            return column < value
        case "<=":
            return column <= value
        case ">":
            return column > value
        case ">=":
            return column >= value
        case "LIKE":
            return column.like(value, escape="\\")
        case "ILIKE":
            return column.ilike(value, escape="\\")
    raise InvalidArgument(f"unsupported operator {op!r}")


def _ordering(key: OrderKey, postgres: bool) -> list[sa.UnaryExpression[object]]:
    field = key.field
    if field.kind == "attributes":
        columns: list[sa.ColumnElement[object]] = [_ATTRIBUTES[field.key]]
    else:
        table = _CHILDREN[field.kind]
        names = ["num", "value"] if field.kind == "params" else ["value"]
        columns = [_lookup(table, name, field) for name in names]
    ordered: list[sa.UnaryExpression[object]] = []
    for column in columns:
        sort = column
        if postgres and isinstance(column.type, sa.String | sa.Text):
            sort = sa.type_coerce(column.collate("C"), column.type)  # byte order, like SQLite
        ordered.append((sort.desc() if key.descending else sort.asc()).nulls_last())
    return ordered


def _lookup(table: sa.Table, column: str, field: Field) -> sa.ColumnElement[object]:
    return (
        sa.select(table.c[column])
        .where(table.c.run_id == runs.c.id, table.c.key == field.key)
        .scalar_subquery()
    )


def _is_numeric(value: object) -> bool:
    if isinstance(value, tuple):
        return bool(value) and all(isinstance(v, float) for v in value)
    return isinstance(value, float)


def _fingerprint(query: RunQuery) -> str:
    """What a page token is bound to: the same filter, order and experiments."""
    ids = sorted(query.experiment_ids) if query.experiment_ids is not None else None
    shape = json.dumps([ids, query.filter or "", list(query.order_by)])
    return hashlib.blake2b(shape.encode(), digest_size=8).hexdigest()


def _encode_token(offset: int, fingerprint: str) -> str:
    """Tokens are offsets: runs created between two pages can shift the later pages."""
    data = json.dumps({"offset": offset, "query": fingerprint}).encode()
    return base64.urlsafe_b64encode(data).decode()


def _decode_token(token: str | None, fingerprint: str) -> int:
    if not token:
        return 0
    bad = InvalidArgument(f"invalid page token {token!r}: pass back a next_token unchanged")
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset, bound = data["offset"], data["query"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise bad from None
    if not isinstance(offset, int) or not 0 <= offset < 2**31:
        raise bad
    if bound != fingerprint:
        raise InvalidArgument(
            "this page token belongs to another search: use it with the same filter, "
            "order and experiments"
        )
    return offset
