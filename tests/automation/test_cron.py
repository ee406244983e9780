"""Cron expressions of schedule triggers: parsing, fire times, and refusals."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mloop.automation.cron import Cron
from mloop.errors import InvalidArgument

# No example database: the tests leave no .hypothesis/ directory in the checkout.
PROPERTY = settings(database=None, deadline=None, max_examples=300)

MINUTE = 60_000
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()) * 1000


def when(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


def sets(cron: Cron) -> tuple[object, ...]:
    """Everything but the text: two spellings of one schedule compare equal."""
    return (
        cron.minutes,
        cron.hours,
        cron.days,
        cron.months,
        cron.weekdays,
        cron.day_restricted,
        cron.weekday_restricted,
    )


# -- examples ------------------------------------------------------------------------


def test_every_quarter_hour() -> None:
    cron = Cron.parse("*/15 * * * *")
    assert cron.minutes == (0, 15, 30, 45)
    assert cron.next(ms(2024, 5, 1, 12, 7, second=30)) == ms(2024, 5, 1, 12, 15)
    assert cron.next(ms(2024, 5, 1, 12, 15)) == ms(2024, 5, 1, 12, 30)
    assert cron.next(ms(2024, 5, 1, 23, 50)) == ms(2024, 5, 2, 0, 0)
    assert cron.latest(ms(2024, 5, 1, 12, 7, second=30)) == ms(2024, 5, 1, 12, 0)
    assert cron.latest(ms(2024, 5, 1, 12, 15)) == ms(2024, 5, 1, 12, 15)
    assert cron.latest(ms(2024, 5, 1, 12, 15) + 999) == ms(2024, 5, 1, 12, 15)
    assert cron.latest(ms(2024, 5, 1, 12, 15) - 1) == ms(2024, 5, 1, 12, 0)


def test_monday_at_three() -> None:
    cron = Cron.parse("0 3 * * 1")
    # 2024-01-03 is a Wednesday; the Mondays around it are the 1st and the 8th.
    assert cron.next(ms(2024, 1, 3, 10)) == ms(2024, 1, 8, 3)
    assert cron.latest(ms(2024, 1, 3, 10)) == ms(2024, 1, 1, 3)
    assert cron.next(ms(2024, 1, 8, 3)) == ms(2024, 1, 15, 3)
    assert cron.latest(ms(2024, 1, 8, 2, 59, second=59)) == ms(2024, 1, 1, 3)


def test_next_crosses_the_year() -> None:
    cron = Cron.parse("30 23 31 12 *")
    assert cron.next(ms(2024, 12, 31, 23, 30)) == ms(2025, 12, 31, 23, 30)
    assert cron.latest(ms(2025, 12, 31, 23, 29)) == ms(2024, 12, 31, 23, 30)


@pytest.mark.parametrize(
    ("macro", "fields"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros(macro: str, fields: str) -> None:
    cron = Cron.parse(macro)
    assert cron.text == macro
    assert sets(cron) == sets(Cron.parse(fields))


def test_daily() -> None:
    cron = Cron.parse("@daily")
    assert cron.next(ms(2024, 2, 28, second=1)) == ms(2024, 2, 29)
    assert cron.latest(ms(2024, 3, 1, 23, 59)) == ms(2024, 3, 1)


def test_month_and_weekday_names() -> None:
    cron = Cron.parse("0 9 * jan,jul mon-fri")
    assert cron.months == (1, 7)
    assert cron.weekdays == (1, 2, 3, 4, 5)
    assert sets(cron) == sets(Cron.parse("0 9 * JAN,Jul Mon-FRI"))
    assert sets(cron) == sets(Cron.parse("0 9 * 1,7 1-5"))
    # 2024-07-01 is a Monday; 2024-07-06 and 07 are the weekend.
    assert cron.next(ms(2024, 2, 1)) == ms(2024, 7, 1, 9)
    assert cron.next(ms(2024, 7, 5, 9)) == ms(2024, 7, 8, 9)
    assert cron.latest(ms(2024, 6, 30)) == ms(2024, 1, 31, 9)


def test_day_or_weekday_when_both_are_restricted() -> None:
    cron = Cron.parse("0 0 13 * fri")
    assert cron.day_restricted
    assert cron.weekday_restricted
    # October 2024: Fridays 4, 11, 18, 25; the 13th is a Sunday.
    fires = [ms(2024, 10, 4), ms(2024, 10, 11), ms(2024, 10, 13), ms(2024, 10, 18)]
    t = ms(2024, 10, 1)
    for expected in fires:
        t = cron.next(t)
        assert t == expected
    assert cron.latest(ms(2024, 10, 17)) == ms(2024, 10, 13)


def test_day_and_weekday_when_one_is_a_star() -> None:
    # The first Monday of a month: a starred weekday step still means "and".
    assert not Cron.parse("0 0 1-7 * */7").weekday_restricted
    cron = Cron.parse("0 0 */2 * mon")
    assert not cron.day_restricted
    # Mondays on odd days: 2024-01-01, then 2024-01-15 (the 8th is even).
    assert cron.next(ms(2023, 12, 31)) == ms(2024, 1, 1)
    assert cron.next(ms(2024, 1, 1)) == ms(2024, 1, 15)


def test_sunday_is_zero_and_seven() -> None:
    sunday = sets(Cron.parse("0 0 * * 0"))
    assert sets(Cron.parse("0 0 * * 7")) == sunday
    assert sets(Cron.parse("0 0 * * sun")) == sunday
    assert Cron.parse("0 0 * * 5-7").weekdays == (0, 5, 6)
    assert Cron.parse("0 0 * * 0,7").weekdays == (0,)
    assert Cron.parse("0 0 * * */2").weekdays == (0, 2, 4, 6)
    assert Cron.parse("0 0 * * 1/2").weekdays == (1, 3, 5)
    assert Cron.parse("0 0 * * 7/2").weekdays == (0,)
    # 2024-06-09 is a Sunday.
    assert Cron.parse("0 0 * * 7").next(ms(2024, 6, 5)) == ms(2024, 6, 9)


def test_steps_and_lists() -> None:
    cron = Cron.parse("0-30/10,45 9-17/4 1,15 */3 *")
    assert cron.minutes == (0, 10, 20, 30, 45)
    assert cron.hours == (9, 13, 17)
    assert cron.days == (1, 15)
    assert cron.months == (1, 4, 7, 10)
    assert Cron.parse("50/5 * * * *").minutes == (50, 55)
    assert Cron.parse("*/90 * * * *").minutes == (0,)


def test_leap_day() -> None:
    cron = Cron.parse("0 0 29 2 *")
    assert cron.next(ms(2024, 3, 1)) == ms(2028, 2, 29)
    assert cron.latest(ms(2028, 2, 28)) == ms(2024, 2, 29)
    # 2100 is not a leap year: eight years between leap days.
    assert cron.next(ms(2096, 3, 1)) == ms(2104, 2, 29)
    assert cron.latest(ms(2104, 1, 1)) == ms(2096, 2, 29)


def test_sparse_dates_are_found() -> None:
    # A leap day that is also a Sunday: 2004, 2032, 2060 (28 years apart).
    cron = Cron.parse("0 0 29 2 */7")
    assert cron.next(ms(2004, 3, 1)) == ms(2032, 2, 29)
    assert cron.latest(ms(2032, 2, 28)) == ms(2004, 2, 29)


def test_times_before_1970() -> None:
    cron = Cron.parse("0 12 * * *")
    assert cron.next(ms(1969, 12, 31, 13)) == ms(1970, 1, 1, 12)
    assert cron.latest(ms(1969, 12, 31, 13)) == ms(1969, 12, 31, 12)


def test_times_must_be_integers() -> None:
    cron = Cron.parse("@hourly")
    with pytest.raises(InvalidArgument, match="after_ms"):
        cron.next(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="at_ms"):
        cron.latest(True)


# -- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("* * *", "5 fields (minute hour day month weekday) expected, got 3"),
        ("* * * * * *", "expected, got 6"),
        ("", "expected, got 0"),
        ("61 * * * *", "minute 61 is outside 0-59"),
        ("* 24 * * *", "hour 24 is outside 0-23"),
        ("* * 0 * *", "day 0 is outside 1-31"),
        ("* * 32 * *", "day 32 is outside 1-31"),
        ("* * * 13 *", "month 13 is outside 1-12"),
        ("* * * 0 *", "month 0 is outside 1-12"),
        ("* * * * 8", "weekday 8 is outside 0-7"),
        ("0-60 * * * *", "minute 60 is outside 0-59"),
        ("*/0 * * * *", "minute step 0"),
        ("* 1-5/0 * * *", "hour step 0"),
        ("* * */x * *", "day step 'x' is not a positive whole number"),
        ("5/ * * * *", "minute step '' is not a positive whole number"),
        ("* 5-3 * * *", "hour range '5-3' is reversed"),
        ("* * * dec-jan *", "month range 'dec-jan' is reversed"),
        ("* * * * fri-mon", "weekday range 'fri-mon' is reversed"),
        ("1,,2 * * * *", "minute '1,,2' has an empty item"),
        ("* * * * 1,", "weekday '1,' has an empty item"),
        ("a b c d e", "minute 'a' is not a number"),
        ("* * * foo *", "month 'foo' is not a number or a name (jan, feb"),
        ("* * * * monday", "weekday 'monday' is not a number or a name (sun, mon"),
        ("* * * * mon-", "weekday '' is not a number"),
        ("-1 * * * *", "minute '' is not a number"),
        ("1-2-3 * * * *", "minute '2-3' is not a number"),
        ("* ² * * *", "hour '²' is not a number"),
        ("* * 1.5 * *", "day '1.5' is not a number"),
        ("0 0 31 2 *", "day '31' never falls in month '2', so it never fires"),
        ("0 0 30 2 *", "day '30' never falls in month '2', so it never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("0 0 30,31 feb */2", "never fires"),
        ("@often", "unknown macro '@often'"),
        ("@daily 5", "expected, got 2"),
    ],
)
def test_bad_expressions_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        Cron.parse(text)
    assert message in str(raised.value)
    assert f"cron {text!r}" in str(raised.value)


@pytest.mark.parametrize("text", [None, 5, b"0 3 * * 1", ["0", "3", "*", "*", "1"]])
def test_non_text_is_refused(text: object) -> None:
    with pytest.raises(InvalidArgument, match="cron expression must be text"):
        Cron.parse(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["0 0 31 1,2 *", "0 0 29 2 *", "0 0 31 2 mon", "0 0 30 */2 *", "  0  3 * * 1  "]
)
def test_dates_that_can_fire_are_accepted(text: str) -> None:
    Cron.parse(text)


# -- properties against a brute-force scan -------------------------------------------


@dataclass(frozen=True)
class Spec:
    """A random expression and the schedule it means, computed without mloop."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    either: bool
    """Both day and weekday are restricted: a date matches if either does."""

    def day_matches(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        in_days = d.day in self.days
        in_weekdays = d.isoweekday() % 7 in self.weekdays
        return in_days or in_weekdays if self.either else in_days and in_weekdays

    def never_fires(self) -> bool:
        longest = max(29 if m == 2 else calendar.monthrange(2001, m)[1] for m in self.months)
        return not self.either and min(self.days) > longest


def spell(draw: st.DrawFn, number: int, names: tuple[str, ...], offset: int) -> str:
    index = number - offset
    if names and 0 <= index < len(names) and draw(st.booleans()):
        return draw(st.sampled_from([names[index], names[index].upper(), names[index].title()]))
    return str(number)


@st.composite
def fields(
    draw: st.DrawFn, lo: int, hi: int, names: tuple[str, ...] = (), offset: int = 0
) -> tuple[str, set[int]]:
    """One field's text and the values it allows (``hi`` is the end of ``*`` and ``N/S``;
    weekday values above it are folded by the caller)."""
    top = 7 if names == WEEKDAYS else hi
    if draw(st.integers(0, 2)) == 0:
        step = draw(st.sampled_from([1, 1, 1, 2, 3, 5, 7, 13]))
        return ("*" if step == 1 else f"*/{step}"), set(range(lo, hi + 1, step))
    items: list[str] = []
    values: set[int] = set()
    for _ in range(draw(st.integers(1, 3))):
        a = draw(st.integers(lo, top))
        kind = draw(st.sampled_from(["one", "range", "range/step", "open/step"]))
        step = draw(st.integers(1, 6))
        if kind == "one":
            items.append(spell(draw, a, names, offset))
            values.add(a)
            continue
        if kind == "open/step":
            a = min(a, hi)
            items.append(f"{a}/{step}")
            values.update(range(a, hi + 1, step))
            continue
        b = draw(st.integers(a, top))
        text = f"{spell(draw, a, names, offset)}-{spell(draw, b, names, offset)}"
        items.append(text if kind == "range" else f"{text}/{step}")
        values.update(range(a, b + 1, 1 if kind == "range" else step))
    return ",".join(items), values


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    minute, minutes = draw(fields(0, 59))
    hour, hours = draw(fields(0, 23))
    day, days = draw(fields(1, 31))
    month, months = draw(fields(1, 12, MONTHS, offset=1))
    weekday, weekdays = draw(fields(0, 6, WEEKDAYS))
    return Spec(
        text=f"{minute} {hour} {day} {month} {weekday}",
        minutes=frozenset(minutes),
        hours=frozenset(hours),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(v % 7 for v in weekdays),
        either=not day.startswith("*") and not weekday.startswith("*"),
    )


SEARCH_DAYS = 366 * 30
TIMES = st.integers(ms(2020, 1, 1), ms(2030, 1, 1))


def brute_next(spec: Spec, after_ms: int) -> int | None:
    """Scan day by day, then minute by minute within the first matching day that has one."""
    start = when(after_ms - after_ms % MINUTE + MINUTE)
    day = start.date()
    for _ in range(SEARCH_DAYS):
        if spec.day_matches(day):
            first = start.hour * 60 + start.minute if day == start.date() else 0
            for tod in range(first, 24 * 60):
                if tod // 60 in spec.hours and tod % 60 in spec.minutes:
                    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
                    return int(midnight.timestamp()) * 1000 + tod * MINUTE
        day += timedelta(days=1)
    return None


def brute_latest(spec: Spec, at_ms: int) -> int | None:
    end = when(at_ms - at_ms % MINUTE)
    day = end.date()
    for _ in range(SEARCH_DAYS):
        if spec.day_matches(day):
            last = end.hour * 60 + end.minute if day == end.date() else 24 * 60 - 1
            for tod in range(last, -1, -1):
                if tod // 60 in spec.hours and tod % 60 in spec.minutes:
                    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
                    return int(midnight.timestamp()) * 1000 + tod * MINUTE
        day -= timedelta(days=1)
    return None


@PROPERTY
@given(specs())
def test_random_expressions_parse_to_their_values(spec: Spec) -> None:
    if spec.never_fires():
        with pytest.raises(InvalidArgument, match="never fires"):
            Cron.parse(spec.text)
        return
    cron = Cron.parse(spec.text)
    assert set(cron.minutes) == spec.minutes
    assert set(cron.hours) == spec.hours
    assert set(cron.days) == spec.days
    assert set(cron.months) == spec.months
    assert set(cron.weekdays) == spec.weekdays
    assert (cron.day_restricted and cron.weekday_restricted) == spec.either


@PROPERTY
@given(specs(), TIMES)
def test_next_and_latest_match_a_brute_force_scan(spec: Spec, t: int) -> None:
    assume(not spec.never_fires())
    cron = Cron.parse(spec.text)
    expected_next, expected_latest = brute_next(spec, t), brute_latest(spec, t)
    assume(expected_next is not None and expected_latest is not None)
    assert cron.next(t) == expected_next
    assert cron.latest(t) == expected_latest


@PROPERTY
@given(specs(), TIMES)
def test_next_and_latest_agree(spec: Spec, t: int) -> None:
    assume(not spec.never_fires())
    cron = Cron.parse(spec.text)
    following, previous = cron.next(t), cron.latest(t)
    assert previous <= t < following
    assert following % MINUTE == 0
    assert previous % MINUTE == 0
    assert cron.latest(following) == following
    assert cron.next(previous) == following
    assert cron.latest(following - 1) == previous
    assert cron.next(following - 1) == following
