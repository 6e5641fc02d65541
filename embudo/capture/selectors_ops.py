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
_RELATIVE = re.compile(r"^(\d{1,5})([hdw])$")


def parse_since(text: str) -> datetime | None:
    """``today``, ``all``, ``24h``, ``7d``, ``2w``, a date (``2026-11-01``, local midnight) or an ISO datetime.

    Raises ``ValueError`` for anything else; ``all`` (and empty) means no lower bound.
    """
    text = (text or "").strip().lower()
    now = clock.now()
    if text in ("", "all"):
        return None
    if text == "today":
        return timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - {"h": timedelta(hours=amount), "d": timedelta(days=amount), "w": timedelta(weeks=amount)}[unit]
    day = parse_date(text)
    if day is not None:
        return timezone.make_aware(datetime.combine(day, time.min))
    moment = parse_datetime(text)
    if moment is not None:
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
    raise ValueError(f"Unrecognised period {text!r}: use today, all, 24h, 7d, 2w or a date like 2026-11-01.")


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
