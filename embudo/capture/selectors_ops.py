"""Reads for the intake operations pages and commands: periods, problem submissions, WhatsApp channels."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from embudo.capture.models import Submission, SubmissionStatus, WhatsAppChannel
from embudo.core import clock

PROBLEM_STATUSES = (SubmissionStatus.FAILED, SubmissionStatus.PENDING, SubmissionStatus.QUARANTINED)
PERIODS = ("today", "7d", "30d", "all")
_RELATIVE = re.compile(r"^(\d{1,5})\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> datetime | None:
    """``today``, ``yesterday``, ``all``, ``30m``, ``24h``, ``7d``, ``2w``, a date (``2026-11-01``, local
    midnight) or an ISO datetime (``2026-11-01T10:00:00Z``, ``…+01:00``; without an offset, local time).

    Raises ``ValueError`` for anything else; ``all`` (and empty) means no lower bound.
    """
    given = (text or "").strip()
    word = given.lower()
    now = clock.now()
    if word in ("", "all"):
        return None
    if word in ("today", "yesterday"):
        start = timezone.localdate(now) - timedelta(days=1 if word == "yesterday" else 0)
        return timezone.make_aware(datetime.combine(start, time.min))
    match = _RELATIVE.match(word)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    day = parse_date(given)
    if day is not None:
        return timezone.make_aware(datetime.combine(day, time.min))
    moment = parse_datetime(given.upper() if "t" in given or given.endswith("z") else given)
    if moment is not None:
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
    raise ValueError(
        f"Unrecognised period {given!r}: use today, yesterday, all, 30m, 24h, 7d, 2w, a date like 2026-11-01 "
        "or a date and time like 2026-11-01T10:00:00Z."
    )


def list_problem_submissions(*, since: datetime | None, limit: int = 50) -> list[Submission]:
    """The latest failed, pending and quarantined submissions (what an operator may need to replay)."""
    submissions = Submission.objects.filter(status__in=PROBLEM_STATUSES)
    if since is not None:
        submissions = submissions.filter(received_at__gte=since)
    return list(submissions.order_by("-received_at", "-id")[:limit])


def list_submission_ids(*, statuses: Iterable[str]) -> list[int]:
    return list(
        Submission.objects.filter(status__in=list(statuses)).order_by("received_at", "id").values_list("id", flat=True)
    )


def list_submissions_by_id(submission_ids: Iterable[int]) -> list[Submission]:
    return list(Submission.objects.filter(pk__in=list(submission_ids)).order_by("id"))


def list_active_verify_tokens() -> list[str]:
    return list(WhatsAppChannel.objects.filter(active=True).values_list("verify_token", flat=True))


def find_whatsapp_channels(phone_number_ids: Iterable[str]) -> list[WhatsAppChannel]:
    ids = [i for i in phone_number_ids if i]
    if not ids:
        return []
    return list(WhatsAppChannel.objects.filter(active=True, phone_number_id__in=ids))


def list_whatsapp_channels() -> list[WhatsAppChannel]:
    return list(WhatsAppChannel.objects.select_related("team").order_by("name", "id"))


def get_whatsapp_channel(channel_id: int) -> WhatsAppChannel | None:
    return WhatsAppChannel.objects.filter(pk=channel_id).first()
