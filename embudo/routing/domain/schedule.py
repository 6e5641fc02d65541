"""Working hours: ``{"mon": [["09:00", "18:00"]], …}`` in a rep's time zone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")
MAX_SPANS_PER_DAY = 6

Hours = dict[str, list[tuple[str, str]]]


class ScheduleError(ValueError):
    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))
        self.fields = dict(fields)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def valid_time_zone(name: str) -> bool:
    if not name or name not in _zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed zones load
        return False
    return True


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
        _ZONES.add("UTC")
    return _ZONES


def parse_hours(raw: Any, *, prefix: str = "hours") -> Hours:
    """Validate weekly hours; spans are ``[start, end]`` with ``00:00 <= start < end <= 24:00``."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ScheduleError({prefix: ["Give an object of weekday → list of [start, end]."]})
    errors: dict[str, list[str]] = {}
    hours: Hours = {}
    for day, spans in raw.items():
        where = f"{prefix}.{day}"
        if day not in WEEKDAYS:
            errors[where] = [f"Use one of: {', '.join(WEEKDAYS)}."]
            continue
        if not isinstance(spans, list | tuple) or len(spans) > MAX_SPANS_PER_DAY:
            errors[where] = [f"Give a list of at most {MAX_SPANS_PER_DAY} [start, end] pairs."]
            continue
        parsed: list[tuple[str, str]] = []
        for i, span in enumerate(spans):
            if (
                not isinstance(span, list | tuple)
                or len(span) != 2
                or not all(isinstance(t, str) and _TIME_RE.match(t) for t in span)
            ):
                errors[f"{where}.{i}"] = ['Give ["HH:MM", "HH:MM"].']
                continue
            start, end = str(span[0]), str(span[1])
            if _minutes(start) >= _minutes(end):
                errors[f"{where}.{i}"] = ["The end must be after the start."]
                continue
            parsed.append((start, end))
        if parsed:
            hours[day] = sorted(parsed)
    if errors:
        raise ScheduleError(errors)
    return hours


def on_shift(hours: Mapping[str, Any], time_zone: str, at: datetime) -> bool:
    """True when ``at`` (aware) falls in one of the spans of its weekday in ``time_zone``.

    Empty hours mean no working time at all (a rep without a schedule is handled by the caller).
    """
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = at.astimezone(zone)
    day = WEEKDAYS[local.weekday()]
    minute = local.hour * 60 + local.minute
    return any(_minutes(span[0]) <= minute < _minutes(span[1]) for span in hours.get(day) or ())


def office_hours(days: tuple[str, ...] = WEEKDAYS[:5], start: time = time(9), end: time = time(18)) -> Hours:
    """Convenience: the same span on the given days (Mon–Fri 9–18 by default)."""
    span = (start.strftime("%H:%M"), end.strftime("%H:%M"))
    return {day: [span] for day in days}
