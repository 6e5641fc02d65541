"""Business hours: a weekly schedule in a time zone, minus holidays, and arithmetic over it.

A :class:`BusinessCalendar` turns into an ordered sequence of disjoint UTC intervals ("open" time).
:func:`add_business_minutes` walks forward through them and :func:`business_minutes_between` measures
the open time between two instants; both read the same intervals, so they agree exactly:
``business_minutes_between(s, add_business_minutes(s, m, cal), cal) == m``.

Rules:

- The schedule is local wall-clock time (``zoneinfo``): 09:00–18:00 stays 09:00–18:00 across a DST
  change, and an interval is as long as the real time between its ends (a night shift across the
  spring-forward hour is an hour shorter).
- Local times that do not exist (spring-forward gap) map forward; repeated ones (fall-back) take
  their first occurrence. Intervals are clamped so they never overlap after that mapping.
- Adding 0 minutes returns the start unchanged; adding more lands inside open time or exactly at the
  close of an interval (a deadline "at 18:00"), never at a closed moment in between.
- :meth:`BusinessCalendar.always` is 24/7 in UTC: adding is plain addition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Closed this many days in a row: give up (a calendar closed for years is a configuration error).
MAX_DAYS = 3 * 366
_HHMM = re.compile(r"^([01]?[0-9]|2[0-4]):([0-5][0-9])$")

Interval = tuple[int, int]  # minutes of the local day: 0 <= start < end <= 1440


class CalendarError(ValueError):
    """A schedule that cannot be used (bad time zone, bad hours, or never open)."""


@dataclass(frozen=True)
class BusinessCalendar:
    """Open hours per weekday (Monday = 0) in ``time_zone``, closed on ``holidays`` (local dates)."""

    time_zone: str = "UTC"
    week: tuple[tuple[Interval, ...], ...] = ((),) * 7
    holidays: frozenset[date] = field(default_factory=frozenset)
    always_open: bool = False

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise CalendarError("A week has seven days.")
        for day in self.week:
            previous_end = -1
            for start, end in day:
                if not (0 <= start < end <= MINUTES_PER_DAY) or start < previous_end:
                    raise CalendarError("Open hours must be increasing, non-overlapping times of one day.")
                previous_end = end
        if not self.always_open and not any(self.week):
            raise CalendarError("The calendar is never open.")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(f"Unknown time zone {self.time_zone!r}.") from exc

    @classmethod
    def always(cls) -> BusinessCalendar:
        """Open 24 hours a day, every day: business minutes are plain minutes."""
        return cls(time_zone="UTC", week=(((0, MINUTES_PER_DAY),),) * 7, always_open=True)

    @classmethod
    def office_hours(
        cls,
        time_zone: str,
        *,
        start: time = time(9),
        end: time = time(18),
        days: Sequence[int] = (0, 1, 2, 3, 4),
        holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        """The same hours on ``days`` (default Monday to Friday, 09:00–18:00)."""
        interval = (start.hour * 60 + start.minute, end.hour * 60 + end.minute)
        week = tuple((interval,) if d in days else () for d in range(7))
        return cls(time_zone=time_zone, week=week, holidays=frozenset(holidays))

    @classmethod
    def from_hours(
        cls, time_zone: str, hours: Mapping[str, Sequence[Sequence[str]]], *, holidays: Iterable[date] = ()
    ) -> BusinessCalendar:
        """From ``{"mon": [["09:00", "13:00"], ["14:00", "18:00"]], …}`` (routing's rep schedules)."""
        week: list[tuple[Interval, ...]] = []
        for name in WEEKDAYS:
            spans = sorted((_minutes(a), _minutes(b)) for a, b in (hours.get(name) or []))
            week.append(tuple(spans))
        return cls(time_zone=time_zone, week=tuple(week), holidays=frozenset(holidays))


def _minutes(text: str) -> int:
    match = _HHMM.match(str(text).strip())
    if not match:
        raise CalendarError(f"Not a time of day: {text!r} (use HH:MM).")
    value = int(match.group(1)) * 60 + int(match.group(2))
    if value > MINUTES_PER_DAY:
        raise CalendarError(f"Not a time of day: {text!r} (use HH:MM).")
    return value


def _local_to_utc(day: date, minute: int, zone: ZoneInfo) -> datetime:
    if minute >= MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    # fold=0: a repeated time takes its first occurrence; a missing one maps forward by the gap.
    return local.astimezone(UTC)


def open_intervals(calendar: BusinessCalendar, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals in UTC, ascending and disjoint, from the one containing (or after) ``since``."""
    _require_aware(since)
    if calendar.always_open:
        # One interval per UTC day keeps the generator uniform; it is never closed.
        midnight = datetime.combine(since.astimezone(UTC).date(), time(0), tzinfo=UTC)
        while True:
            yield midnight, midnight + timedelta(days=1)
            midnight += timedelta(days=1)
    zone = ZoneInfo(calendar.time_zone)
    # Start two local days early: clamping near midnight DST changes then never depends on ``since``.
    day = since.astimezone(zone).date() - timedelta(days=2)
    previous_end: datetime | None = None
    closed_days = 0
    while closed_days <= MAX_DAYS:
        closed_days += 1
        spans = () if day in calendar.holidays else calendar.week[day.weekday()]
        for start_min, end_min in spans:
            start, end = _local_to_utc(day, start_min, zone), _local_to_utc(day, end_min, zone)
            if previous_end is not None and start < previous_end:
                start = previous_end
            if end <= start:
                continue
            previous_end = end
            closed_days = 0
            if end > since:
                yield start, end
        day += timedelta(days=1)
    raise CalendarError("No open time in the next three years.")


def add_business_minutes(start: datetime, minutes: float, calendar: BusinessCalendar) -> datetime:
    """The instant ``minutes`` of open time after ``start`` (the SLA deadline). ``minutes`` >= 0."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    _require_aware(start)
    remaining = timedelta(minutes=minutes)
    if not remaining:
        return start
    if calendar.always_open:
        return start + remaining
    for open_at, close_at in open_intervals(calendar, start):
        begin = max(open_at, start)
        available = close_at - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise CalendarError("No open time in the next three years.")  # pragma: no cover - generator raises


def business_minutes_between(a: datetime, b: datetime, calendar: BusinessCalendar) -> float:
    """Open minutes from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
    _require_aware(a)
    _require_aware(b)
    if b < a:
        return -business_minutes_between(b, a, calendar)
    if calendar.always_open:
        return (b - a).total_seconds() / 60
    total = timedelta(0)
    for open_at, close_at in open_intervals(calendar, a):
        if open_at >= b:
            break
        total += min(close_at, b) - max(open_at, a)
    return total.total_seconds() / 60


def is_open(at: datetime, calendar: BusinessCalendar) -> bool:
    """Whether ``at`` falls in open time (interval starts count, ends do not)."""
    for open_at, close_at in open_intervals(calendar, at):
        return open_at <= at < close_at
    return False  # pragma: no cover - generator raises


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Use time-zone-aware datetimes.")
