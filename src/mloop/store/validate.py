"""Checks every store implementation applies before anything is written.

A batch with one bad element is refused whole, so nothing half-written is left.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from mloop.errors import InvalidArgument
from mloop.store.entities import ArtifactEntry, MetricPoint, NewModelVersion

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
    if not isinstance(name, str) or not _DATASET.fullmatch(name) or len(name) > KEY_LENGTH:
        raise InvalidArgument(
            f"{name!r} is not a valid dataset name: use 1 to {KEY_LENGTH} letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (e.g. bike-sharing)"
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
    if not isinstance(name, str) or not _DATASET.fullmatch(name) or len(name) > KEY_LENGTH:
        raise InvalidArgument(
            f"{name!r} is not a valid model name: use 1 to {KEY_LENGTH} letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (e.g. churn-classifier)"
        )
    return name


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
