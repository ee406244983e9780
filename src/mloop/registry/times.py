"""Moments in time as users write them: ISO 8601 text, datetimes, or epoch milliseconds."""

from __future__ import annotations

from datetime import datetime, timedelta

from mloop.errors import InvalidArgument

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def to_ms(at: datetime | str | int) -> int:
    """Epoch milliseconds of ``at``; naive datetimes and text without a zone are local time."""
    if isinstance(at, bool):
        raise InvalidArgument(f"a time is ISO 8601 text, a datetime or epoch ms, got {at!r}")
    if isinstance(at, int):
        return at
    if isinstance(at, str):
        text = at.strip()
        if text.lower() == "now":
            return int(datetime.now().timestamp() * 1000)
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgument(
                f"{text!r} is not a time: use ISO 8601, e.g. 2026-03-03T14:00 (local time) "
                "or 2026-03-03T14:00Z (UTC)"
            ) from None
    if not isinstance(at, datetime):
        raise InvalidArgument(f"a time is ISO 8601 text, a datetime or epoch ms, got {at!r}")
    return int(at.timestamp() * 1000)


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1d`` or ``0``."""
    text = text.strip().lower()
    if text == "0":
        return timedelta(0)
    try:
        amount, unit = float(text[:-1]), _UNITS[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise InvalidArgument(
            f"{text!r} is not a duration: use e.g. 90s, 30m, 2h, 1d or 0"
        ) from None
    if not 0 <= amount * unit <= 100 * 365 * 86400:  # also refuses nan and inf
        raise InvalidArgument(f"duration {text!r} must be between 0 and 100 years")
    return timedelta(seconds=amount * unit)
