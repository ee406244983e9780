"""Monitor windows: fixed stretches of time (``1h``, ``1d``) or of traffic (``10000rows``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mloop.errors import InvalidArgument
from mloop.registry.times import parse_duration

_PATTERN = re.compile(r"(\d+)\s*(s|m|h|d|rows)")


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """Either ``seconds`` (windows aligned on multiples of it since the epoch, UTC) or
    ``rows`` (consecutive chunks of the logged predictions, oldest first)."""

    text: str
    seconds: int | None = None
    rows: int | None = None

    @property
    def millis(self) -> int:
        assert self.seconds is not None
        return self.seconds * 1000


def parse_window(text: str) -> WindowSpec:
    found = _PATTERN.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    if found is None:
        raise InvalidArgument(
            f"{text!r} is not a window: use a time (90s, 30m, 1h, 1d) or a row count (10000rows)"
        )
    amount, unit = int(found.group(1)), found.group(2)
    if unit == "rows":
        if not 10 <= amount <= 100_000_000:
            raise InvalidArgument("a row window holds 10 to 100,000,000 rows")
        return WindowSpec(f"{amount}rows", rows=amount)
    seconds = int(parse_duration(f"{amount}{unit}").total_seconds())
    if not 60 <= seconds <= 366 * 86400:
        raise InvalidArgument("a time window lasts from 1 minute to a year")
    return WindowSpec(f"{amount}{unit}", seconds=seconds)
