"""When things are due, in the user's time zone, DST-safe.

Every function takes aware datetimes and a ``ZoneInfo``; "tomorrow at 9:00" is a wall-clock time in that
zone (so it stays 9:00 across a daylight-saving change), while "in 1 hour" is elapsed time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

KINDS: tuple[str, ...] = ("call", "email", "meeting", "whatsapp", "follow_up", "other")
QUICK_PICKS: tuple[str, ...] = ("in_1h", "tomorrow", "in_3_days", "next_week")
SNOOZES: tuple[str, ...] = ("1h", "tomorrow")
WORKDAY_START = time(9, 0)
UPCOMING_DAYS = 7
ROUND_MINUTES = 5


class Bucket(enum.StrEnum):
    OVERDUE = "overdue"
    TODAY = "today"
    UPCOMING = "upcoming"
    LATER = "later"


def at_local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """``day`` at ``at`` in ``tz`` as an aware UTC datetime. A wall time skipped by a spring-forward gap
    resolves to the later offset (fold=0 → the time before the gap is applied, then normalised)."""
    naive = datetime.combine(day, at)
    local = naive.replace(tzinfo=tz)
    # Round-trip through UTC normalises a non-existent wall time (e.g. 02:30 on a spring-forward night).
    return local.astimezone(UTC)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def day_bounds(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The start of the local day containing ``moment`` and the start of the next one (UTC, aware).
    23 or 25 hours long on DST change days."""
    today = local_date(moment, tz)
    return at_local(today, time(0), tz), at_local(today + timedelta(days=1), time(0), tz)


@dataclass(frozen=True)
class Window:
    """The edges of "my day" for a moment in a time zone."""

    now: datetime
    today_start: datetime
    tomorrow_start: datetime
    upcoming_end: datetime  # start of the local day after the upcoming period


def window(now: datetime, tz: ZoneInfo, *, upcoming_days: int = UPCOMING_DAYS) -> Window:
    start, tomorrow = day_bounds(now, tz)
    end = at_local(local_date(now, tz) + timedelta(days=upcoming_days + 1), time(0), tz)
    return Window(now=now, today_start=start, tomorrow_start=tomorrow, upcoming_end=end)


def bucket_of(due_at: datetime, now: datetime, tz: ZoneInfo, *, upcoming_days: int = UPCOMING_DAYS) -> Bucket:
    """Overdue (past its due time), today (later today, local), upcoming (the next ``upcoming_days`` local
    days) or later."""
    if due_at < now:
        return Bucket.OVERDUE
    w = window(now, tz, upcoming_days=upcoming_days)
    if due_at < w.tomorrow_start:
        return Bucket.TODAY
    if due_at < w.upcoming_end:
        return Bucket.UPCOMING
    return Bucket.LATER


def _round_up(moment: datetime, minutes: int = ROUND_MINUTES) -> datetime:
    moment = moment.replace(second=0, microsecond=0) + (
        timedelta(minutes=1) if moment.second or moment.microsecond else timedelta()
    )
    extra = (-moment.minute) % minutes
    return moment + timedelta(minutes=extra)


def quick_pick(pick: str, now: datetime, tz: ZoneInfo) -> datetime:
    """The due time of a quick pick: "in_1h" (elapsed, rounded up to 5 minutes), "tomorrow" (9:00 local),
    "in_3_days" (9:00 local, three days from today), "next_week" (Monday 9:00 local)."""
    today = local_date(now, tz)
    if pick == "in_1h":
        return _round_up(now + timedelta(hours=1)).astimezone(UTC)
    if pick == "tomorrow":
        return at_local(today + timedelta(days=1), WORKDAY_START, tz)
    if pick == "in_3_days":
        return at_local(today + timedelta(days=3), WORKDAY_START, tz)
    if pick == "next_week":
        return at_local(today + timedelta(days=7 - today.weekday()), WORKDAY_START, tz)
    raise ValueError(f"unknown quick pick {pick!r}")


def snooze(option: str, now: datetime, tz: ZoneInfo) -> datetime:
    """A new due time: "1h" (one hour from now) or "tomorrow" (tomorrow 9:00 local)."""
    if option == "1h":
        return _round_up(now + timedelta(hours=1)).astimezone(UTC)
    if option == "tomorrow":
        return quick_pick("tomorrow", now, tz)
    raise ValueError(f"unknown snooze {option!r}")


def remind_at_for(due_at: datetime, now: datetime, minutes_before: int) -> datetime | None:
    """When to remind: ``minutes_before`` the due time, never in the past (a reminder time already
    passed is sent now); None for a task already due (logged after the fact: nothing to remind)."""
    if due_at <= now:
        return None
    remind_at = due_at - timedelta(minutes=max(0, minutes_before))
    return max(remind_at, now)


def add_delay(start: datetime, tz: ZoneInfo, *, days: int = 0, hours: int = 0) -> datetime:
    """``start`` plus ``days`` calendar days (same local wall time, DST-safe) plus ``hours`` elapsed hours."""
    local = start.astimezone(tz)
    moved = at_local(local.date() + timedelta(days=days), local.time(), tz)
    return (moved + timedelta(hours=hours)).astimezone(UTC)
