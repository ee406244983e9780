"""Comparing two profiles: schema changes and the largest changes in column statistics.

Used by ``mloop data diff``; the ranking is by effect size so that different
statistics (a mean shift, a null-fraction change, new categories) compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mloop.data.profile import ColumnProfile, Profile, describe_type, number_out
from mloop.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two profiles, ``old`` and ``new`` as display text.

    ``kind`` is one of: column_added, column_removed, type_changed (schema
    changes, ``size`` 0), mean_shift, null_fraction, distinct, new_categories,
    missing_categories (statistics, ``size`` an effect size: see
    :func:`compare_profiles`).
    """

    kind: str
    column: str
    old: str
    new: str
    size: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "kind": self.kind,
            "column": self.column,
            "old": self.old,
            "new": self.new,
            "size": number_out(self.size),
        }


@dataclass(frozen=True, slots=True)
class ProfileDiff:
    """What changed from an old profile to a new one; ``changes`` largest first."""

    old_rows: int
    new_rows: int
    schema_changes: tuple[Change, ...]
    changes: tuple[Change, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "old_rows": self.old_rows,
            "new_rows": self.new_rows,
            "schema_changes": [change.to_dict() for change in self.schema_changes],
            "changes": [change.to_dict() for change in self.changes],
        }


def compare_profiles(old: Profile, new: Profile, limit: int = 10) -> ProfileDiff:
    """Columns added, removed or retyped, and the ``limit`` largest statistical changes.

    Changes are ranked by an effect size, so different statistics compare:
    a mean shift in units of the old standard deviation (of the new one if the
    old column was constant, else of 1); a change of null fraction, and the
    share of rows in new (or vanished) categories, as Cohen's h
    (|2 asin sqrt(p1) - 2 asin sqrt(p2)|; 0.2 is small, 0.8 large); a change of
    distinct count as |log2((new + 1) / (old + 1))| (1 when it doubles).
    Category changes need the side whose categories are checked against to
    list every value (``complete_categories``).
    """
    if type(limit) is not int or limit < 0:
        raise InvalidArgument(f"limit must be a non-negative integer, got {limit!r}")
    schema: list[Change] = [
        Change("column_removed", column.name, describe_type(column), "absent", 0.0)
        for column in old.columns
        if new.column(column.name) is None
    ]
    schema += [
        Change("column_added", column.name, "absent", describe_type(column), 0.0)
        for column in new.columns
        if old.column(column.name) is None
    ]
    changes: list[Change] = []
    for before in old.columns:
        after = new.column(before.name)
        if after is None:
            continue
        if (
            before.logical_type != after.logical_type
        ):  # int32 -> int64, string -> large_string: same
            schema.append(
                Change(
                    "type_changed", before.name, describe_type(before), describe_type(after), 0.0
                )
            )
        changes += _column_changes(before, after)
    changes.sort(key=lambda change: (-change.size, change.column, change.kind))
    return ProfileDiff(old.rows, new.rows, tuple(schema), tuple(changes[:limit]))


def _column_changes(old: ColumnProfile, new: ColumnProfile) -> list[Change]:
    name = old.name
    found: list[Change] = []
    if old.numeric is not None and new.numeric is not None:
        scale = old.numeric.std or new.numeric.std or 1.0
        shift = abs(new.numeric.mean - old.numeric.mean) / scale
        found.append(
            Change("mean_shift", name, f"{old.numeric.mean:.6g}", f"{new.numeric.mean:.6g}", shift)
        )
    size = _cohen_h(old.null_fraction, new.null_fraction)
    found.append(
        Change("null_fraction", name, f"{old.null_fraction:.2%}", f"{new.null_fraction:.2%}", size)
    )
    if old.distinct is not None and new.distinct is not None:
        size = abs(math.log2((new.distinct + 1) / (old.distinct + 1)))
        found.append(Change("distinct", name, str(old.distinct), str(new.distinct), size))
    if old.top_values is not None and new.top_values is not None:
        if old.complete_categories:
            found.append(_category_change("new_categories", name, old, new))
        if new.complete_categories:
            found.append(_category_change("missing_categories", name, new, old))
    return [change for change in found if change.size > 0 and math.isfinite(change.size)]


def _category_change(kind: str, name: str, known: ColumnProfile, other: ColumnProfile) -> Change:
    """Values of ``other`` that ``known`` (which lists every value) does not have."""
    assert known.top_values is not None and other.top_values is not None
    seen = {value for value, _ in known.top_values}
    extra = [(value, n) for value, n in other.top_values if value not in seen]
    share = sum(n for _, n in extra) / other.count if other.count else 0.0
    listed = ", ".join(repr(value) for value, _ in extra[:5])
    more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
    text = f"{listed}{more} ({share:.2%} of rows)" if extra else "none"
    old, new = ("", text) if kind == "new_categories" else (text, "")
    return Change(kind, name, old, new, _cohen_h(0.0, share))


def _cohen_h(p1: float, p2: float) -> float:
    return abs(2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1)))
