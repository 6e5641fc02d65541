"""Snooze quick picks (pure): "in 1 hour", "tomorrow 9:00", "next week" (Monday 9:00), in the user's zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Pick = Literal["1h", "tomorrow", "next_week"]
PICKS: tuple[Pick, ...] = ("1h", "tomorrow", "next_week")
MORNING = time(9, 0)
MAX_SNOOZE = timedelta(days=366)


class SnoozeError(ValueError):
    pass


def _at_morning(day: datetime, zone: ZoneInfo) -> datetime:
    # Built from the local date so 09:00 stays 09:00 across a DST change.
    return datetime.combine(day.date(), MORNING, tzinfo=zone)


def until_for(pick: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The moment a quick pick means, as an aware datetime."""
    if now.tzinfo is None:
        raise SnoozeError("now must be timezone-aware")
    local = now.astimezone(zone)
    if pick == "1h":
        return now + timedelta(hours=1)
    if pick == "tomorrow":
        return _at_morning(local + timedelta(days=1), zone)
    if pick == "next_week":
        days = 7 - local.weekday()  # next Monday (a week ahead when today is Monday)
        return _at_morning(local + timedelta(days=days), zone)
    raise SnoozeError(f"Unknown snooze choice {pick!r}.")


def check_until(until: datetime, now: datetime) -> str | None:
    """An error message when ``until`` is not a usable snooze end, else None."""
    if until.tzinfo is None:
        return "Give a date and time with a time zone."
    if until <= now:
        return "Pick a time in the future."
    if until > now + MAX_SNOOZE:
        return "Snooze for at most a year."
    return None
