"""A lead captured while a bulk rescore runs is scored at once. A rescore chunk reads committed leads only, so it
cannot be diffing a lead the intake's own transaction has just inserted: that lead's scoring does not wait for the
running chunk (it did: 1.5-4.4 s per lead while a 1M-lead rescore ran, bench scoring 2026-11-23). A capture that
merges into a stored lead, which a chunk may be diffing, still waits for it."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from embudo.capture.models import Submission
from embudo.scoring import services as scoring_services
from embudo.scoring.models import ScoreEntry

pytestmark = pytest.mark.django_db(transaction=True)


class RunningChunk:
    """Another connection holding what a bulk rescore chunk holds while it runs (``scoring.services``:
    ``pg_advisory_xact_lock(ENGINE_LOCK, stripe)``), on both stripes, until ``release()``."""

    def __init__(self) -> None:
        self._held, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                for stripe in (0, 1):
                    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [scoring_services.ENGINE_LOCK, stripe])
                self._held.set()
                self._release.wait(timeout=60)
        finally:
            connection.close()

    def __enter__(self) -> RunningChunk:
        self._thread.start()
        assert self._held.wait(timeout=30)
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _post(client: Client, path: str, body: Any) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_new_leads_are_scored_at_once_while_a_chunk_runs_and_a_merge_waits_for_it(configured: Any) -> None:
    _, client = configured
    stored = _post(client, "/api/v1/leads", {"email": "stored@acme.example", "first_name": "Ana"}).json()

    with RunningChunk() as chunk:
        started = time.monotonic()
        single = _post(client, "/api/v1/leads", {"email": "nuria.nueva@gmail.com", "first_name": "Nuria",
                                                 "job_title": "Directora de Marketing"})  # fmt: skip
        batch = _post(client, "/api/v1/leads/batch", {"items": [{"email": "otra.persona@gmail.com"},
                                                                 {"email": "tercera.persona@gmail.com"}]})  # fmt: skip
        elapsed = time.monotonic() - started
        assert single.status_code == 201 and batch.status_code == 200, (single.content, batch.content)
        assert elapsed < 30  # a wait for the chunk would last until release(), after 60 s

        # A merge into the stored lead scores a lead the chunk may be diffing: it waits until the chunk ends.
        answers: list[Any] = []

        def merge_into_the_stored_lead() -> None:
            try:
                answers.append(
                    _post(client, "/api/v1/leads", {"email": "stored@acme.example", "phone": "+34600111222"})
                )
            finally:
                connection.close()

        merging = threading.Thread(target=merge_into_the_stored_lead)
        merging.start()
        merging.join(timeout=1.5)
        assert merging.is_alive() and not answers
        chunk.release()
        merging.join(timeout=30)
    assert answers and answers[0].status_code == 200 and answers[0].json()["id"] == stored["id"]

    new_ids = [single.json()["id"], *(item["id"] for item in batch.json()["items"])]
    assert len(new_ids) == 3
    # Scored in the capture's transaction, as without a rescore: the demo model's free-mail rule, on the ledger.
    entries = ScoreEntry.objects.filter(lead_id__in=new_ids, cause="captured")
    assert sorted(entries.values_list("lead_id", "points")) == sorted((lead_id, -10) for lead_id in new_ids)
    assert Submission.objects.filter(status="processed").count() == 5
