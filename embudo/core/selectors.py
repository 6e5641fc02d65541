"""Reads of operational state (health)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Health:
    database_ok: bool
    database_error: str
    worker_heartbeat_age_s: float | None
    workers: int


def get_health() -> Health:
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), EXTRACT(EPOCH FROM (now() - max(last_heartbeat))) FROM procrastinate_workers"
            )
            workers, age = cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "unhealthy", reported as text
        return Health(database_ok=False, database_error=exc.__class__.__name__, worker_heartbeat_age_s=None, workers=0)
    return Health(
        database_ok=True,
        database_error="",
        worker_heartbeat_age_s=float(age) if age is not None else None,
        workers=int(workers),
    )
