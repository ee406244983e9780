"""Cron expressions for schedule triggers: parse one, find its fire times.

An expression has five fields separated by spaces, evaluated in UTC::

    minute  hour  day  month  weekday
    0-59    0-23  1-31 1-12   0-7 (0 and 7 are Sunday)

Each field is ``*`` (every value), ``N``, a range ``A-B``, a step ``*/S``,
``A-B/S`` or ``N/S`` (from N to the field's end), or a comma list of these:
``*/15``, ``9-17``, ``1,15``, ``0-30/10``. Months and weekdays may be named by
their first three letters, in any case: ``jan-jun``, ``mon-fri``. The macros
``@hourly``, ``@daily`` (or ``@midnight``), ``@weekly``, ``@monthly`` and
``@yearly`` (or ``@annually``) stand for ``0 * * * *``, ``0 0 * * *``,
``0 0 * * 0``, ``0 0 1 * *`` and ``0 0 1 1 *``.

As in Vixie cron, when both day and weekday are restricted (do not start with
``*``) a date fires if either matches: ``0 0 13 * fri`` fires on every 13th and
every Friday. Otherwise the date must match both.

    cron = Cron.parse("0 3 * * 1")      # Mondays at 03:00 UTC
    cron.next(now_ms)                   # the first fire time after now
    cron.latest(now_ms)                 # the most recent fire time, now included

Times are epoch milliseconds; fire times fall on whole minutes.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mloop.errors import InvalidArgument

_MINUTE_MS = 60_000
_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_HORIZON_MONTHS = 50 * 12
"""How far ``next`` and ``latest`` look before they give up: past the 28-year cycle
of the calendar, so any expression that can fire is found."""
_NUMBER = re.compile(r"[0-9]+")
_FIELDS = "5 fields (minute hour day month weekday)"

MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    lo: int
    hi: int
    star_hi: int
    """The end of ``*`` and ``N/S``: 6 for weekdays, whose 7 only repeats Sunday."""
    names: dict[str, int]
    example: str

    def fail(self, expr: str, problem: str) -> InvalidArgument:
        return InvalidArgument(
            f"cron {expr!r}: {self.name} {problem} (e.g. {self.name} {self.example})"
        )


_SPECS = (
    _Field("minute", 0, 59, 59, {}, "'5', '0-30', '*/15' or '0,30'"),
    _Field("hour", 0, 23, 23, {}, "'3', '9-17', '*/6' or '8,20'"),
    _Field("day", 1, 31, 31, {}, "'1', '1-7', '*/2' or '1,15'"),
    _Field(
        "month", 1, 12, 12, {n: i + 1 for i, n in enumerate(_MONTHS)}, "'1', 'jan-jun' or '*/3'"
    ),
    _Field(
        "weekday", 0, 7, 6, {n: i for i, n in enumerate(_WEEKDAYS)}, "'1', 'mon-fri' or 'sat,sun'"
    ),
)


def _value(spec: _Field, text: str, expr: str) -> int:
    """One number or name of a field, checked against the field's range."""
    if text.lower() in spec.names:
        return spec.names[text.lower()]
    if not _NUMBER.fullmatch(text):
        named = f" or a name ({', '.join(spec.names)})" if spec.names else ""
        raise spec.fail(expr, f"{text!r} is not a number{named}")
    number = int(text)
    if not spec.lo <= number <= spec.hi:
        raise spec.fail(expr, f"{number} is outside {spec.lo}-{spec.hi}")
    return number


def _step(spec: _Field, text: str, expr: str) -> int:
    if not _NUMBER.fullmatch(text):
        raise spec.fail(expr, f"step {text!r} is not a positive whole number")
    step = int(text)
    if step == 0:
        raise spec.fail(expr, "step 0 never advances: use a step of 1 or more")
    return step


def _item(spec: _Field, item: str, expr: str) -> range:
    """The values of one comma-separated item: ``*``, ``N``, ``A-B``, each with ``/S``."""
    body, slash, step_text = item.partition("/")
    step = _step(spec, step_text, expr) if slash else 1
    if body == "*":
        return range(spec.lo, spec.star_hi + 1, step)
    if "-" in body:
        first, _, last = body.partition("-")
        lo, hi = _value(spec, first, expr), _value(spec, last, expr)
        if lo > hi:
            raise spec.fail(expr, f"range {body!r} is reversed: write the smaller end first")
        return range(lo, hi + 1, step)
    lo = _value(spec, body, expr)
    return range(lo, (max(lo, spec.star_hi) if slash else lo) + 1, step)


def _field(spec: _Field, text: str, expr: str) -> tuple[int, ...]:
    """The sorted values a field allows (weekday 7 folded onto 0)."""
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise spec.fail(expr, f"{text!r} has an empty item between commas")
        values.update(_item(spec, item, expr))
    if spec.name == "weekday":
        values = {v % 7 for v in values}
    return tuple(sorted(values))


def _to_ms(day: date, minute_of_day: int) -> int:
    return (day.toordinal() - _EPOCH_ORDINAL) * _DAY_MS + minute_of_day * _MINUTE_MS


def _to_datetime(ms: object, what: str, offset: int = 0) -> datetime:
    """The whole UTC minute containing ``ms`` plus ``offset`` minutes (naive datetime)."""
    if not isinstance(ms, int) or isinstance(ms, bool):
        raise InvalidArgument(f"{what} must be epoch milliseconds (int), got {ms!r}")
    try:
        return _EPOCH + timedelta(minutes=ms // _MINUTE_MS + offset)
    except OverflowError:
        raise InvalidArgument(f"{what} {ms} is outside the years 1-9999") from None


def _months(year: int, month: int, direction: int) -> Iterator[tuple[int, int]]:
    """(year, month) from the given one on, forward (1) or backward (-1), within the horizon."""
    for _ in range(_HORIZON_MONTHS):
        if not 1 <= year <= 9999:
            return
        yield year, month
        index = year * 12 + month - 1 + direction
        year, month = divmod(index, 12)
        month += 1


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron expression: the values each field allows, and its fire times."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]
    """0 is Sunday, 6 Saturday."""
    day_restricted: bool
    weekday_restricted: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Parse five fields or a macro; raise :class:`InvalidArgument` saying what is wrong."""
        if not isinstance(text, str):
            raise InvalidArgument(
                f"a cron expression must be text like '0 3 * * 1', got {type(text).__name__}"
            )
        fields = text.split()
        if len(fields) == 1 and fields[0].startswith("@"):
            macro = fields[0].lower()
            if macro not in MACROS:
                raise InvalidArgument(
                    f"cron {text!r}: unknown macro {fields[0]!r}: use one of {', '.join(MACROS)}"
                )
            fields = MACROS[macro].split()
        if len(fields) != 5:
            raise InvalidArgument(
                f"cron {text!r}: {_FIELDS} expected, got {len(fields)}, e.g. '0 3 * * 1'"
            )
        minutes, hours, days, months, weekdays = (
            _field(spec, f, text) for spec, f in zip(_SPECS, fields, strict=True)
        )
        cron = cls(
            text,
            minutes,
            hours,
            days,
            months,
            weekdays,
            day_restricted=not fields[2].startswith("*"),
            weekday_restricted=not fields[4].startswith("*"),
        )
        cron._check_fires(fields)
        return cron

    def _check_fires(self, fields: list[str]) -> None:
        """Refuse a day and month that never meet (``0 0 31 2 *``) when the day must match."""
        if self.day_restricted and self.weekday_restricted:
            return  # either matching suffices, and every month has every weekday
        longest = max(calendar.monthrange(2000, m)[1] for m in self.months)  # 2000 is leap
        if self.days[0] > longest:
            raise InvalidArgument(
                f"cron {self.text!r}: day {fields[2]!r} never falls in month {fields[3]!r},"
                f" so it never fires: pick a day the month has, e.g. '0 0 28 2 *'"
            )

    def _day_matches(self, day: date) -> bool:
        in_days = day.day in self.days
        in_weekdays = day.isoweekday() % 7 in self.weekdays
        if self.day_restricted and self.weekday_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def _dates(self, year: int, month: int) -> list[date]:
        """The dates of a month the expression fires on, ascending."""
        if month not in self.months:
            return []
        last = calendar.monthrange(year, month)[1]
        return [
            d for d in (date(year, month, n) for n in range(1, last + 1)) if self._day_matches(d)
        ]

    def _first_time(self, floor: int) -> int | None:
        """The first allowed minute of the day at or after ``floor`` (minutes since 00:00)."""
        hour, minute = divmod(floor, 60)
        i = bisect_left(self.hours, hour)
        if i < len(self.hours) and self.hours[i] == hour:
            j = bisect_left(self.minutes, minute)
            if j < len(self.minutes):
                return hour * 60 + self.minutes[j]
            i += 1
        return self.hours[i] * 60 + self.minutes[0] if i < len(self.hours) else None

    def _last_time(self, ceiling: int) -> int | None:
        """The last allowed minute of the day at or before ``ceiling``."""
        hour, minute = divmod(ceiling, 60)
        i = bisect_right(self.hours, hour) - 1
        if i >= 0 and self.hours[i] == hour:
            j = bisect_right(self.minutes, minute) - 1
            if j >= 0:
                return hour * 60 + self.minutes[j]
            i -= 1
        return self.hours[i] * 60 + self.minutes[-1] if i >= 0 else None

    def next(self, after_ms: int) -> int:
        """The first fire time strictly after ``after_ms``, in epoch milliseconds."""
        start = _to_datetime(after_ms, "after_ms", offset=1)
        for year, month in _months(start.year, start.month, 1):
            for day in self._dates(year, month):
                if day < start.date():
                    continue
                floor = start.hour * 60 + start.minute if day == start.date() else 0
                found = self._first_time(floor)
                if found is not None:
                    return _to_ms(day, found)
        raise InvalidArgument(f"cron {self.text!r} does not fire within 50 years after {after_ms}")

    def latest(self, at_ms: int) -> int:
        """The most recent fire time at or before ``at_ms``, in epoch milliseconds."""
        end = _to_datetime(at_ms, "at_ms")
        for year, month in _months(end.year, end.month, -1):
            for day in reversed(self._dates(year, month)):
                if day > end.date():
                    continue
                ceiling = end.hour * 60 + end.minute if day == end.date() else 24 * 60 - 1
                found = self._last_time(ceiling)
                if found is not None:
                    return _to_ms(day, found)
        raise InvalidArgument(f"cron {self.text!r} did not fire within 50 years before {at_ms}")
