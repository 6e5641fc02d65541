"""Behaviour tracking reads."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection

from embudo.core import clock
from embudo.tracking.models import TrackingSite


def list_sites() -> list[TrackingSite]:
    return list(TrackingSite.objects.order_by("name"))


def get_site(site_id: int) -> TrackingSite | None:
    return TrackingSite.objects.filter(pk=site_id).first()


def get_active_site_by_key(public_key: str) -> TrackingSite | None:
    if not public_key or len(public_key) > 40:
        return None
    return TrackingSite.objects.filter(public_key=public_key, active=True).first()


def site_request_counts(*, hours: int = 1) -> dict[int, int]:
    """Collect requests per site over the last hour (from the rate-limit buckets, kept for an hour)."""
    since = clock.now() - timedelta(hours=hours)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT site_id, sum(hits) FROM tracking_ratebucket WHERE minute >= %s GROUP BY site_id", [since]
        )
        return {site_id: int(n) for site_id, n in cursor.fetchall()}
