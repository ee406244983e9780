"""Request bodies of ``POST /feedback``: ground-truth labels for logged predictions.

    {"request_id": "9f1c...", "label": 1}                    the request's row 0
    {"request_id": "9f1c...", "row": 3, "label": "churned"}  one row of a batch request
    {"request_id": "9f1c...", "labels": [1, 0, 1]}           every row of a batch request
    [{...}, {...}]                                           several at once

A label is a JSON string, number, boolean or null. A request id nobody logged is
kept all the same (its prediction may still be in a server's memory); it simply
joins nothing. A newer label for the same row replaces the older one.
"""

from __future__ import annotations

from typing import Any

import orjson

from mloop.errors import InvalidArgument
from mloop.serving.payload import PayloadError, field_error
from mloop.store import Label, validate
from mloop.store.entities import now_ms

MAX_LABELS = 10_000
_SCALARS = (str, int, float, bool, type(None))


def parse_feedback(body: bytes) -> list[Label]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(400, f"the body is not valid JSON: {exc}") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise PayloadError(400, 'no labels: send {"request_id": ..., "label": ...}')
    now = now_ms()
    labels: list[Label] = []
    for i, item in enumerate(items):
        labels.extend(_labels(i, item, now))
        if len(labels) > MAX_LABELS:
            raise PayloadError(413, f"more than {MAX_LABELS} labels in one request")
    return labels


def _labels(index: int, item: Any, now: int) -> list[Label]:
    if not isinstance(item, dict):
        raise _invalid(index, "", "an object with request_id and label", type(item).__name__)
    unknown = set(item) - {"request_id", "row", "label", "labels"}
    if unknown:
        expected = "one of request_id, row, label, labels"
        raise _invalid(index, sorted(unknown)[0], expected, "unknown field")
    request_id = item.get("request_id")
    try:
        validate.request_id(request_id)
    except InvalidArgument as exc:
        expected = "a request id from a /predict answer"
        raise _invalid(index, "request_id", expected, str(exc)) from None
    assert isinstance(request_id, str)
    if ("label" in item) == ("labels" in item):
        raise _invalid(index, "label", "exactly one of label or labels", "got both or neither")
    if "labels" in item:
        values = item["labels"]
        if not isinstance(values, list) or not values or "row" in item:
            expected = "a non-empty list, one label per row (and no row field)"
            raise _invalid(index, "labels", expected, repr(values)[:60])
        rows = list(enumerate(values))
    else:
        row = item.get("row", 0)
        if type(row) is not int or not 0 <= row < 2**31:
            raise _invalid(index, "row", "a row number from 0", repr(row)[:60])
        rows = [(row, item["label"])]
    labels = []
    for row, value in rows:
        if not isinstance(value, _SCALARS):
            expected = "a string, number, boolean or null"
            raise _invalid(index, "label", expected, type(value).__name__)
        labels.append(Label(request_id, row, orjson.dumps(value).decode(), now))
    return labels


def _invalid(index: int, name: str, expected: str, got: str) -> PayloadError:
    error = field_error(index, name, expected, got)
    return PayloadError(422, f"label {index}, field {name!r}: expected {expected}, {got}", [error])
