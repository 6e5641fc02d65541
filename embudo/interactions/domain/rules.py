"""What a valid interaction is. Functions return ``Problem``s (field, code, params); the services turn
the codes into translated messages, so this module stays free of Django."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from typing import Any

from embudo.interactions.domain.whatsapp import is_e164

KINDS = ("call", "meeting", "email", "whatsapp")
DIRECTIONS = ("outbound", "inbound")
CALL_OUTCOMES = ("connected", "no_answer", "voicemail", "busy", "wrong_number")
MEETING_OUTCOMES = ("held", "no_show", "rescheduled")

MAX_DURATION_SECONDS = 8 * 3600  # a longer "call" is a timer left running
MAX_NOTES = 5000
MAX_SUBJECT = 200
MAX_BODY = 20_000
MAX_WHATSAPP_TEXT = 4096  # WhatsApp's own limit for one message
MAX_AGE = timedelta(days=365)  # backdating beyond a year is a typo, not a late log
CLOCK_SKEW = timedelta(minutes=2)  # a browser clock slightly ahead is not "the future"


@dataclasses.dataclass(frozen=True)
class Problem:
    field: str
    code: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


def validate_occurred_at(occurred_at: datetime, now: datetime) -> list[Problem]:
    if occurred_at.tzinfo is None:
        return [Problem("occurred_at", "naive")]
    if occurred_at > now + CLOCK_SKEW:
        return [Problem("occurred_at", "future")]
    if occurred_at < now - MAX_AGE:
        return [Problem("occurred_at", "too_old", {"days": MAX_AGE.days})]
    return []


def _choice(name: str, value: str, options: tuple[str, ...]) -> list[Problem]:
    if not value:
        return [Problem(name, "required")]
    if value not in options:
        return [Problem(name, "invalid_choice", {"value": value})]
    return []


def _text(name: str, value: str, limit: int, *, required: bool = False) -> list[Problem]:
    if required and not value.strip():
        return [Problem(name, "required")]
    if len(value) > limit:
        return [Problem(name, "too_long", {"limit": limit})]
    return []


def validate_call(
    *,
    outcome: str,
    direction: str,
    duration_seconds: int | None,
    notes: str,
    occurred_at: datetime,
    now: datetime,
) -> list[Problem]:
    problems = _choice("outcome", outcome, CALL_OUTCOMES) + _choice("direction", direction, DIRECTIONS)
    if duration_seconds is not None:
        if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, int) or duration_seconds < 0:
            problems.append(Problem("duration_seconds", "invalid_duration"))
        elif duration_seconds > MAX_DURATION_SECONDS:
            problems.append(Problem("duration_seconds", "duration_too_long", {"hours": MAX_DURATION_SECONDS // 3600}))
        elif outcome in ("no_answer", "busy") and duration_seconds > 0:
            # Nobody picked up: there was no conversation to time.
            problems.append(Problem("duration_seconds", "duration_without_answer"))
    return problems + _text("notes", notes, MAX_NOTES) + validate_occurred_at(occurred_at, now)


def validate_meeting(*, outcome: str, notes: str, occurred_at: datetime, now: datetime) -> list[Problem]:
    problems = _choice("outcome", outcome, MEETING_OUTCOMES) + _text("notes", notes, MAX_NOTES)
    return problems + validate_occurred_at(occurred_at, now)


_HEADER_BREAK = re.compile(r"[\r\n]")


def validate_email(*, to: str, subject: str, body: str) -> list[Problem]:
    problems = [] if to else [Problem("to", "lead_without_email")]
    if _HEADER_BREAK.search(subject):
        problems.append(Problem("subject", "line_break"))
    else:
        problems += _text("subject", subject, MAX_SUBJECT, required=True)
    return problems + _text("body", body, MAX_BODY, required=True)


def validate_whatsapp(*, phone: str, text: str, direction: str) -> list[Problem]:
    problems = [] if is_e164(phone) else [Problem("phone", "lead_without_phone" if not phone else "not_e164")]
    return (
        problems + _text("text", text, MAX_WHATSAPP_TEXT, required=True) + _choice("direction", direction, DIRECTIONS)
    )


def format_duration(seconds: int | None) -> str:
    """``mm:ss`` (``h:mm:ss`` from one hour); "" for an unknown duration."""
    if seconds is None or seconds < 0:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


_DURATION = re.compile(r"(?:([0-9]{1,2}):)?([0-9]{1,3}):([0-9]{1,2})")


def parse_duration(text: str) -> int | None:
    """Seconds from what a rep types: ``"7"`` (minutes), ``"7:30"`` (mm:ss), ``"1:05:00"`` (h:mm:ss).

    "" → None (unknown). Raises ValueError for anything else (seconds ≥ 60 in a clock-style value included).
    """
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        if len(text) > 4:
            raise ValueError(f"Not a duration: {text!r}")
        return int(text) * 60
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"Not a duration: {text!r}")
    hours, minutes, seconds = int(match.group(1) or 0), int(match.group(2)), int(match.group(3))
    if seconds >= 60 or (match.group(1) is not None and minutes >= 60):
        raise ValueError(f"Not a duration: {text!r}")
    return hours * 3600 + minutes * 60 + seconds


def excerpt(text: str, limit: int = 280) -> str:
    """The first ``limit`` characters of ``text`` on one line, cut at a word with "…" when longer."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"
