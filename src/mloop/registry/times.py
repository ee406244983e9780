"""Moments in time as users write them: ISO 8601 text, datetimes, or epoch milliseconds."""

from __future__ import annotations

from datetime import datetime

from mloop.errors import InvalidArgument


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
