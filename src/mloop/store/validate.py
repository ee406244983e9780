"""Checks every store implementation applies before anything is written.

A batch with one bad element is refused whole, so nothing half-written is left.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from mloop.errors import InvalidArgument
from mloop.store.entities import (
    ArtifactEntry,
    Label,
    MetricPoint,
    NewModelVersion,
    NewSegment,
    Route,
)

KEY_LENGTH = 250
VALUE_LENGTH = 8000
PATH_LENGTH = 1000
INT64 = (-(2**63), 2**63 - 1)
_RUN_ID = re.compile(r"[0-9a-f]{32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_DATASET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def key(kind: str, name: object) -> str:
    """A param, metric or tag key: a non-empty string of printable characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"{kind} key must be a non-empty string, got {name!r}")
    if len(name) > KEY_LENGTH:
        raise InvalidArgument(f"{kind} key {name[:40]!r}... is longer than {KEY_LENGTH} characters")
    if _CONTROL.search(name):
        raise InvalidArgument(f"{kind} key {name!r} contains control characters")
    return name


def text_values(kind: str, values: Mapping[str, str]) -> None:
    for name, value in values.items():
        key(kind, name)
        if not isinstance(value, str):
            raise InvalidArgument(f"{kind} {name!r} must be a string, got {type(value).__name__}")
        if "\x00" in value:
            raise InvalidArgument(f"{kind} {name!r} contains a NUL character")
        if len(value) > VALUE_LENGTH:
            raise InvalidArgument(
                f"{kind} {name!r} is {len(value)} characters long; the limit is {VALUE_LENGTH} "
                "(log long text as an artifact instead)"
            )


def points(batch: Sequence[MetricPoint]) -> None:
    """Every point has a real-number value (NaN and ±inf allowed), an int step and time."""
    seen: set[str] = set()
    low, high = INT64
    for point in batch:  # a hot path: one pass, no calls for well-formed points
        if point.key not in seen:
            key("metric", point.key)
            seen.add(point.key)
        value, step, stamp = point.value, point.step, point.timestamp
        if type(value) is not float and (
            isinstance(value, bool | str) or not isinstance(value, float | int)
        ):
            raise InvalidArgument(
                f"metric {point.key!r} must be a number, got {type(value).__name__} {value!r}"
            )
        if not (type(step) is int and type(stamp) is int) or not (
            low <= step <= high and low <= stamp <= high
        ):
            raise InvalidArgument(
                f"metric {point.key!r}: step and timestamp must be integers that fit in "
                f"64 bits, got {step!r} and {stamp!r}"
            )


def in_int64(value: int) -> bool:
    return INT64[0] <= value <= INT64[1]


def artifacts(entries: Sequence[ArtifactEntry]) -> None:
    for entry in entries:
        if not entry.path or len(entry.path) > PATH_LENGTH or "\x00" in entry.path:
            raise InvalidArgument(
                f"artifact path {entry.path[:60]!r} must be 1 to {PATH_LENGTH} characters, no NUL"
            )
        if not _DIGEST.fullmatch(entry.digest):
            raise InvalidArgument(f"artifact {entry.path!r}: {entry.digest!r} is not a digest")
        if entry.size < 0 or not in_int64(entry.size):
            raise InvalidArgument(f"artifact {entry.path!r}: size {entry.size} is out of range")


def run_id(value: object) -> str:
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value):
        raise InvalidArgument(f"{value!r} is not a run id (32 hexadecimal characters)")
    return value


def as_number(text: str) -> float | None:
    """The numeric reading of a param value, used for numeric filters; None if not a number."""
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def dataset_name(name: object) -> str:
    """A dataset name: letters, digits, ``.``, ``_`` and ``-`` (``@`` separates a version)."""
    return _name("dataset", "bike-sharing", name)


def _name(kind: str, example: str, name: object) -> str:
    if not isinstance(name, str) or not _DATASET.fullmatch(name) or len(name) > KEY_LENGTH:
        raise InvalidArgument(
            f"{name!r} is not a valid {kind} name: use 1 to {KEY_LENGTH} letters, digits, "
            f"'.', '_' or '-', starting with a letter or digit (e.g. {example})"
        )
    return name


def digest(kind: str, value: object) -> str:
    if not isinstance(value, str) or not _DIGEST.fullmatch(value):
        raise InvalidArgument(f"{kind}: {value!r} is not a digest (64 lowercase hex characters)")
    return value


_ALIAS = re.compile(r"[a-z][a-z0-9_-]*")
RESERVED_ALIASES = frozenset({"latest"})


def model_name(name: object) -> str:
    """A model name: the same rules as a dataset name (``@`` and ``/`` separate the rest)."""
    return _name("model", "churn-classifier", name)


def alias(name: object) -> str:
    """An alias: lowercase letters, digits, ``_`` and ``-``, starting with a letter."""
    if not isinstance(name, str) or not _ALIAS.fullmatch(name) or len(name) > KEY_LENGTH:
        raise InvalidArgument(
            f"{name!r} is not a valid alias: use lowercase letters, digits, '_' or '-', "
            "starting with a letter (e.g. champion)"
        )
    if name in RESERVED_ALIASES:
        raise InvalidArgument(f"{name!r} is reserved: it always means the newest version")
    return name


DESCRIPTION_LENGTH = 20_000


def model_version(new: NewModelVersion) -> None:
    """Refuse a model version the store could not keep as given."""
    digest("model package", new.package)
    key("flavor", new.flavor)
    key("user name", new.user)
    if new.run_id is not None:
        run_id(new.run_id)
    description_and_tags(new.description, new.tags)


def description_and_tags(description: str | None, tags: Mapping[str, str] | None) -> None:
    if description is not None:
        if not isinstance(description, str) or "\x00" in description:
            raise InvalidArgument("a description must be text without NUL characters")
        if len(description) > DESCRIPTION_LENGTH:
            raise InvalidArgument(
                f"a description is at most {DESCRIPTION_LENGTH} characters, got {len(description)}"
            )
    text_values("tag", tags or {})


def deployment_name(name: object) -> str:
    """A deployment name: the same rules as a model name."""
    return _name("deployment", "churn-api", name)


def monitor_name(name: object) -> str:
    """A monitor name: the same rules as a model name."""
    return _name("monitor", "churn-drift", name)


def routes(found: Sequence[Route]) -> None:
    """Routes a revision can hold: registered models, primary weights summing to 100."""
    if not found or not all(isinstance(route, Route) for route in found):
        raise InvalidArgument("a deployment needs at least one route to a model")
    models = [route.model for route in found]
    for model in models:
        if not isinstance(model, str) or not model.startswith("models:/"):
            raise InvalidArgument(f"a route names a registered model, models:/..., got {model!r}")
        key("route model", model)
    if len(set(models)) != len(models):
        raise InvalidArgument("a model appears in two routes: give each model one route")
    for route in found:
        weight = route.weight
        if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
            raise InvalidArgument(f"{route.model}: a weight is a whole percent, 0 to 100")
        if route.shadow and weight != 0:
            raise InvalidArgument(f"{route.model}: a shadow route answers no traffic: weight 0")
        if not route.shadow and weight == 0:
            raise InvalidArgument(f"{route.model}: a route needs a weight above 0")
    total = sum(route.weight for route in found if not route.shadow)
    if total != 100:
        raise InvalidArgument(
            f"the weights of the answering routes add up to {total}%, not 100%: "
            "e.g. --route models:/m@champion=90 --route models:/m@challenger=10"
        )


REQUEST_ID_LENGTH = 64
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id(value: object) -> str:
    """A prediction request id: 1 to 64 letters, digits, '.', '_', ':' or '-'."""
    if not isinstance(value, str) or not _REQUEST_ID.fullmatch(value):
        raise InvalidArgument(
            f"{value!r} is not a request id: 1 to {REQUEST_ID_LENGTH} letters, digits, "
            "'.', '_', ':' or '-'"
        )
    return value


def segment(new: NewSegment) -> None:
    digest("prediction segment", new.digest)
    digest("model package", new.package)
    key("model", new.model)
    if not (isinstance(new.rows, int) and new.rows > 0 and in_int64(new.rows)):
        raise InvalidArgument(f"a prediction segment holds at least one row, got {new.rows!r}")
    if not (isinstance(new.start, int) and isinstance(new.end, int) and new.start <= new.end):
        raise InvalidArgument("a prediction segment's start time must not be after its end")
    if new.deployment is not None:
        deployment_name(new.deployment)


def labels(batch: Sequence[Label]) -> None:
    for label in batch:
        request_id(label.request_id)
        row = label.row
        if not isinstance(row, int) or isinstance(row, bool) or not 0 <= row < 2**31:
            raise InvalidArgument(f"{label.request_id}: a row is a number from 0, got {row!r}")
        if not isinstance(label.value, str) or "\x00" in label.value:
            raise InvalidArgument(f"{label.request_id}: a label is JSON text")
        if len(label.value) > VALUE_LENGTH:
            raise InvalidArgument(
                f"{label.request_id}: a label is at most {VALUE_LENGTH} characters of JSON"
            )
