"""/healthz: database reachable and a fresh job-worker heartbeat, else 503."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.django_db


def register_worker(*, age_seconds: int = 0) -> int:
    """Register a worker the way procrastinate does, then age its heartbeat."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT worker_id FROM procrastinate_register_worker_v1()")
        (worker_id,) = cursor.fetchone()
        cursor.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - make_interval(secs => %s) WHERE id = %s",
            [age_seconds, worker_id],
        )
    return int(worker_id)


def health(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    return response.status_code, response.json()


def test_no_worker_is_503_missing(client: Client) -> None:
    status, body = health(client)

    assert status == 503
    assert body == {
        "status": "unhealthy",
        "database": "ok",
        "worker": {"status": "missing", "heartbeat_age_seconds": None, "count": 0, "max_age_seconds": 120},
    }


def test_fresh_worker_heartbeat_is_200(client: Client) -> None:
    register_worker()

    status, body = health(client)

    assert status == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["worker"]["status"] == "ok"
    assert body["worker"]["count"] == 1
    assert 0 <= body["worker"]["heartbeat_age_seconds"] < 5


def test_stale_worker_heartbeat_is_503_stale(client: Client, settings: Any) -> None:
    settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS = 60
    register_worker(age_seconds=300)

    status, body = health(client)

    assert status == 503
    assert body["worker"]["status"] == "stale"
    assert body["worker"]["heartbeat_age_seconds"] >= 300


def test_freshest_of_several_workers_counts(client: Client) -> None:
    register_worker(age_seconds=3600)
    register_worker(age_seconds=1)

    status, body = health(client)

    assert status == 200
    assert body["worker"]["count"] == 2


def test_healthz_only_answers_get(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


def test_healthz_needs_no_login(client: Client) -> None:
    register_worker()
    assert client.get("/healthz").status_code == 200
