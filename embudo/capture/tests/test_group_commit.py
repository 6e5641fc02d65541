"""Single-lead API requests that arrive while another is being written are written together, by one of them
(``capture.group_commit``), and each still gets its own answer: the one it would get alone."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from embudo.capture import group_commit, services
from embudo.capture.models import Submission
from embudo.leads.models import Lead
from embudo.routing.models import Assignment, SpeedToLead


@pytest.fixture
def combiner(settings: Any) -> group_commit.GroupCommit:
    settings.INTAKE_GROUP_COMMIT_WRITERS = 1
    settings.INTAKE_GROUP_COMMIT_ALONE_UP_TO = 0  # group whatever waits (the test sends a handful of requests)
    group_commit._process_group_commit = None
    found = group_commit.group_commit()
    assert found is not None
    return found


def _post(client: Client, body: dict[str, Any], **headers: Any) -> Any:
    return client.post("/api/v1/leads", json.dumps(body), content_type="application/json", **headers)


@pytest.mark.django_db(transaction=True)
def test_requests_that_wait_are_written_together_each_with_its_own_answer(
    configured: Any, combiner: group_commit.GroupCommit, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup, admin_client = configured
    auth = admin_client.defaults["HTTP_AUTHORIZATION"]
    # The first request's write is slow (it sleeps before running the real single path), so the others arrive
    # while it is under way and queue: they must then be written as one group.
    first_write = threading.Event()
    real_capture = services.capture

    def slow_first(**kwargs: Any) -> Any:
        if not first_write.is_set():
            first_write.set()
            time.sleep(0.5)
        return real_capture(**kwargs)

    monkeypatch.setattr(services, "capture", slow_first)
    bodies: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"email": f"g{i}@grupo{i}.es", "first_name": f"G{i}", "country": ("ES", "MX")[i % 2]}, {}) for i in range(6)
    ]
    bodies.append(({"email": "not-an-email", "first_name": "Bad"}, {}))  # rejected: 422, alone in its answer
    twice = {"email": "twice@grupo.es", "country": "ES"}
    bodies.append((twice, {"HTTP_IDEMPOTENCY_KEY": "k-twice"}))
    bodies.append((twice, {"HTTP_IDEMPOTENCY_KEY": "k-twice"}))  # the same key in the same group: one lead
    answers: dict[int, Any] = {}

    def send(index: int) -> None:
        client = Client(HTTP_AUTHORIZATION=auth)
        try:
            if index > 0:
                first_write.wait(5)
                time.sleep(0.05)
            body, headers = bodies[index]
            response = _post(client, body, **headers)
            answers[index] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert combiner.stats.grouped_writes >= 1 and combiner.stats.grouped_requests >= 2, combiner.stats
    for i in range(6):
        status, answer = answers[i]
        assert status == 201, answer
        lead = Lead.objects.get(pk=answer["id"])
        assert lead.email == f"g{i}@grupo{i}.es"
        assert (answer["score"], answer["grade"]) == (lead.score, lead.grade)
        assert answer["owner"]["id"] == lead.owner_id
        assert Assignment.objects.filter(lead_id=lead.pk).count() == 1
    assert answers[6][0] == 422 and "email" in answers[6][1]["fields"]
    (status_a, a), (status_b, b) = answers[7], answers[8]
    assert sorted([status_a, status_b]) == [201, 201] and a["id"] == b["id"]
    assert Submission.objects.filter(idempotency_key__endswith=":k-twice").count() == 1
    assert Lead.objects.filter(email="twice@grupo.es").count() == 1
    # Speed-to-lead counts each request from its arrival, including the wait for the write in front of it: the
    # queued requests were received before the first one's lead was stored, and stored after it.
    first = SpeedToLead.objects.get(lead_id=answers[0][1]["id"])
    waited = SpeedToLead.objects.filter(lead_id__in=[answers[i][1]["id"] for i in range(1, 6)])
    assert waited.count() == 5
    assert first.stored_at is not None
    for speed in waited:
        assert speed.received_at is not None and speed.stored_at is not None
        assert speed.received_at < first.stored_at < speed.stored_at


@pytest.mark.django_db
def test_without_group_commit_each_request_writes_alone(configured: Any, settings: Any) -> None:
    settings.INTAKE_GROUP_COMMIT_WRITERS = 0
    assert group_commit.group_commit() is None
    _setup, client = configured
    response = _post(client, {"email": "solo@example.es", "country": "ES"})
    assert response.status_code == 201, response.content
    assert Lead.objects.get(pk=response.json()["id"]).owner_id == response.json()["owner"]["id"]


@pytest.mark.django_db(transaction=True)
def test_up_to_alone_up_to_requests_in_flight_each_write_alone(
    configured: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 2 in flight both write alone, at the same time; a third and more queue behind a group writer."""
    settings.INTAKE_GROUP_COMMIT_WRITERS, settings.INTAKE_GROUP_COMMIT_ALONE_UP_TO = 1, 2
    group_commit._process_group_commit = None
    combiner = group_commit.group_commit()
    assert combiner is not None
    _setup, admin_client = configured
    auth = admin_client.defaults["HTTP_AUTHORIZATION"]
    real_capture = services.capture
    spans: list[tuple[float, float]] = []  # when each alone write ran

    def slow_capture(**kwargs: Any) -> Any:
        begun = time.monotonic()
        time.sleep(0.4)
        result = real_capture(**kwargs)
        spans.append((begun, time.monotonic()))
        return result

    monkeypatch.setattr(services, "capture", slow_capture)

    def send_all(tags: list[str]) -> list[int]:
        statuses: list[int] = []
        barrier = threading.Barrier(len(tags))

        def send(tag: str) -> None:
            client = Client(HTTP_AUTHORIZATION=auth)
            try:
                barrier.wait()
                if tag.endswith(("3", "4")):
                    time.sleep(0.1)  # after the first three are in flight
                statuses.append(_post(client, {"email": f"{tag}@alone.example.com", "country": "ES"}).status_code)
            finally:
                connection.close()

        threads = [threading.Thread(target=send, args=(tag,)) for tag in tags]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return statuses

    assert send_all(["a0", "a1"]) == [201, 201]
    (start_a, end_a), (start_b, end_b) = spans
    assert start_b < end_a and start_a < end_b  # written side by side, not one after the other
    assert (combiner.stats.writes, combiner.stats.grouped_writes) == (2, 0)
    assert sorted(send_all(["b0", "b1", "b2", "b3", "b4"])) == [201] * 5
    assert combiner.stats.grouped_writes == 1 and combiner.stats.grouped_requests == 2, combiner.stats
