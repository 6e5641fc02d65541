"""Reads of the capture context: submissions, reconciliation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Q

from embudo.capture.models import Submission
from embudo.leads import selectors as leads_selectors
from embudo.leads.models import Lead

KEPT_HEADERS = frozenset({"user-agent", "referer", "accept-language", "content-type", "origin", "x-forwarded-for"})


def get_lead_summary(lead_id: int) -> Lead | None:
    return leads_selectors.get_lead(lead_id)


def get_owner_summary(user_id: int) -> tuple[int, str, str] | None:
    """(id, email, full name) of a lead's owner, for the intake response."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, email, full_name FROM accounts_user WHERE id = %s", [user_id])
        row = cursor.fetchone()
    return (int(row[0]), str(row[1]), str(row[2])) if row else None


def same_payload(submission_id: int, payload: Mapping[str, Any]) -> bool:
    stored = Submission.objects.filter(pk=submission_id).values_list("payload", flat=True).first()
    return stored == dict(payload)


def get_submission(submission_id: int) -> Submission | None:
    return Submission.objects.filter(pk=submission_id).first()


@dataclass
class Reconciliation:
    since: datetime | None
    received: int = 0
    created: int = 0
    merged: int = 0
    rejected: int = 0
    quarantined: int = 0
    pending: int = 0
    failed: int = 0
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)
    processed_without_lead: int = 0

    @property
    def explained(self) -> int:
        return self.created + self.merged + self.rejected + self.quarantined + self.pending + self.failed

    @property
    def unexplained(self) -> int:
        return self.received - self.explained + self.processed_without_lead


def reconcile(*, since: datetime | None = None) -> Reconciliation:
    """received = created + merged + rejected + quarantined + pending + failed, checked against the lead
    table: a processed submission whose lead does not exist counts as unexplained."""
    submissions = Submission.objects.all()
    if since is not None:
        submissions = submissions.filter(received_at__gte=since)
    report = Reconciliation(since=since)
    rows = submissions.values("channel", "status", "outcome", "reason").annotate(n=Count("id"))
    for row in rows:
        n = row["n"]
        report.received += n
        status, outcome = row["status"], row["outcome"]
        bucket = (
            outcome if status == "processed" and outcome in ("created", "merged")
            else status if status in ("rejected", "quarantined", "pending", "failed")
            else "unknown"
        )  # fmt: skip
        if bucket != "unknown":
            setattr(report, bucket, getattr(report, bucket) + n)
        if status == "rejected":
            report.rejected_reasons[row["reason"] or "unknown"] = report.rejected_reasons.get(row["reason"], 0) + n
        if status == "quarantined":
            report.quarantine_reasons[row["reason"] or "unknown"] = report.quarantine_reasons.get(row["reason"], 0) + n
        per = report.by_channel.setdefault(row["channel"], {})
        per[bucket] = per.get(bucket, 0) + n
    report.processed_without_lead = (
        submissions.filter(status="processed")
        .filter(Q(lead_id__isnull=True) | ~Q(lead_id__in=Lead.objects.values("id")))
        .count()
    )
    return report


def list_open_submissions(limit: int = 100) -> list[Submission]:
    return list(Submission.objects.filter(status__in=("failed", "pending")).order_by("-received_at")[:limit])


def list_submissions(*, status: str = "", channel: str = "", limit: int = 100) -> list[Submission]:
    submissions = Submission.objects.all()
    if status:
        submissions = submissions.filter(status=status)
    if channel:
        submissions = submissions.filter(channel=channel)
    return list(submissions.order_by("-received_at", "-id")[:limit])
