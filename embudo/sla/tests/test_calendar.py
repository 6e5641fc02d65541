"""The business-hours calendar: hand-checked cases and properties (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embudo.sla.domain.calendar import (
    BusinessCalendar,
    CalendarError,
    add_business_minutes,
    business_minutes_between,
    is_open,
)

MADRID = ZoneInfo("Europe/Madrid")
ZONES = ["UTC", "Europe/Madrid", "America/Santiago", "America/Mexico_City", "Australia/Lord_Howe",
         "America/New_York", "Asia/Kolkata"]  # fmt: skip


def madrid(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


OFFICE = BusinessCalendar.office_hours("Europe/Madrid", holidays=[date(2026, 12, 25)])


def test_within_the_same_day() -> None:
    assert add_business_minutes(madrid(2026, 11, 23, 10, 0), 10, OFFICE) == madrid(2026, 11, 23, 10, 10)


def test_outside_hours_starts_at_the_next_opening() -> None:
    # Friday 17:55 + 10 → Monday 09:05
    assert add_business_minutes(madrid(2026, 11, 20, 17, 55), 10, OFFICE) == madrid(2026, 11, 23, 9, 5)
    # Saturday night + 10 → Monday 09:10
    assert add_business_minutes(madrid(2026, 11, 21, 23, 0), 10, OFFICE) == madrid(2026, 11, 23, 9, 10)


def test_holidays_are_closed() -> None:
    # Thursday 24 Dec 17:00 + 120 → Friday 25 is a holiday → Monday 28, 10:00
    assert add_business_minutes(madrid(2026, 12, 24, 17, 0), 120, OFFICE) == madrid(2026, 12, 28, 10, 0)


def test_a_full_business_day_ends_at_the_same_time_next_day() -> None:
    assert add_business_minutes(madrid(2026, 11, 23, 11, 0), 540, OFFICE) == madrid(2026, 11, 24, 11, 0)


def test_a_deadline_may_be_the_closing_time() -> None:
    assert add_business_minutes(madrid(2026, 11, 23, 17, 0), 60, OFFICE) == madrid(2026, 11, 23, 18, 0)


def test_dst_change_keeps_wall_clock_hours() -> None:
    # Madrid leaves summer time on Sunday 25 Oct 2026; Friday 17:30 + 60 → Monday 09:30 (local).
    due = add_business_minutes(madrid(2026, 10, 23, 17, 30), 60, OFFICE)
    assert due == madrid(2026, 10, 26, 9, 30)
    assert due.astimezone(UTC).hour == 8  # winter time: UTC+1


def test_night_shift_across_spring_forward_is_an_hour_shorter() -> None:
    night = BusinessCalendar.from_hours("Europe/Madrid", {d: [["00:00", "06:00"]] for d in ("sat", "sun")})
    # Sunday 29 Mar 2026 02:00 → 03:00 does not exist: the shift has 5 real hours.
    start = madrid(2026, 3, 29, 0, 0)
    assert business_minutes_between(start, madrid(2026, 3, 29, 6, 0), night) == 300


def test_between_is_negative_backwards_and_counts_open_time_only() -> None:
    a, b = madrid(2026, 11, 20, 17, 0), madrid(2026, 11, 23, 10, 0)
    assert business_minutes_between(a, b, OFFICE) == 120
    assert business_minutes_between(b, a, OFFICE) == -120


def test_schedule_parsing_and_errors() -> None:
    cal = BusinessCalendar.from_hours("America/Mexico_City", {"mon": [["14:00", "18:00"], ["09:00", "13:00"]]})
    assert cal.week[0] == ((540, 780), (840, 1080))
    with pytest.raises(CalendarError):
        BusinessCalendar.from_hours("UTC", {"mon": [["9am", "18:00"]]})
    with pytest.raises(CalendarError):
        BusinessCalendar.from_hours("UTC", {})
    with pytest.raises(CalendarError):
        BusinessCalendar.office_hours("Mars/Olympus")
    with pytest.raises(ValueError):
        add_business_minutes(datetime(2026, 1, 1), 5, OFFICE)


def test_is_open() -> None:
    assert is_open(madrid(2026, 11, 23, 9, 0), OFFICE)
    assert not is_open(madrid(2026, 11, 23, 18, 0), OFFICE)
    assert not is_open(madrid(2026, 11, 22, 12, 0), OFFICE)


# -- properties ---------------------------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2029, 12, 31), timezones=st.just(UTC))
minutes = st.integers(min_value=0, max_value=5 * 24 * 60)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(ZONES))
    week = []
    for _day in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 48), max_size=4)))
        spans = tuple((cuts[i] * 30, cuts[i + 1] * 30) for i in range(0, len(cuts) - 1, 2))
        week.append(spans)
    if not any(week):
        week[0] = ((540, 1080),)
    holidays = draw(st.sets(st.dates(date(2024, 1, 1), date(2030, 1, 31)), max_size=20))
    return BusinessCalendar(time_zone=zone, week=tuple(week), holidays=frozenset(holidays))


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, minutes, minutes)
def test_adding_is_additive(cal: BusinessCalendar, start: datetime, a: int, b: int) -> None:
    assert add_business_minutes(add_business_minutes(start, a, cal), b, cal) == add_business_minutes(start, a + b, cal)


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, minutes, minutes)
def test_adding_is_monotone(cal: BusinessCalendar, start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert add_business_minutes(start, low, cal) <= add_business_minutes(start, high, cal)
    later = start + timedelta(minutes=b)
    assert add_business_minutes(start, a, cal) <= add_business_minutes(later, a, cal)


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, st.integers(min_value=1, max_value=5 * 24 * 60))
def test_deadline_lands_in_open_time(cal: BusinessCalendar, start: datetime, m: int) -> None:
    due = add_business_minutes(start, m, cal)
    just_before = due - timedelta(seconds=1)
    assert due > start
    assert is_open(just_before, cal)  # open right up to the deadline (it may be the closing time)
    assert business_minutes_between(start, due, cal) == pytest.approx(m)


@settings(max_examples=200, deadline=None)
@given(instants, minutes)
def test_always_open_is_plain_addition(start: datetime, m: int) -> None:
    cal = BusinessCalendar.always()
    assert add_business_minutes(start, m, cal) == start + timedelta(minutes=m)
    assert business_minutes_between(start, start + timedelta(minutes=m), cal) == m


@settings(max_examples=100, deadline=None)
@given(instants, minutes, st.sampled_from(ZONES))
def test_an_all_day_calendar_equals_plain_addition(start: datetime, m: int, zone: str) -> None:
    full = BusinessCalendar.from_hours(zone, {d: [["00:00", "24:00"]] for d in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})  # fmt: skip
    assert add_business_minutes(start, m, full) == start + timedelta(minutes=m)
