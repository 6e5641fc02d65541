"""The import's timeline (``LeadCreated`` / ``LeadCaptured``) is written by its own transaction on another
connection, beside the next batch: these tests commit for real, so that connection sees the batches."""

from __future__ import annotations

import csv
import importlib
import threading
from pathlib import Path
from typing import Any

import pytest

from embudo.capture import imports
from embudo.capture.models import ImportJob, Submission
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = ["Nombre", "Correo", "Teléfono", "Ciudad"]


@pytest.fixture(autouse=True)
def _small_batches(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DATA_DIR = tmp_path / "data"
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)


def _job(tmp_path: Path) -> ImportJob:
    rows = [
        ["Ana", "ana@x.es", "612 34 56 78", "Lugo"],
        ["Bea", "bea@x.es", "", ""],
        ["", "ANA@x.es", "", "Vigo"],  # a later row of Ana: merged, her city updated
        ["Carla", "", "+34 600 111 222", ""],
        ["", "bad@@", "", ""],  # rejected: no timeline
        ["Dani", "dani@x.es", "", "León"],
        ["Bea", "bea@x.es", "", "Soria"],
    ]
    path = tmp_path / "t.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return imports.create_job_for_file(path=path, mapping=None, source="feria", default_region="ES")


def _assert_one_timeline_per_submission() -> None:
    processed = list(Submission.objects.filter(channel="import", status="processed").order_by("id"))
    captured = list(DomainEvent.objects.filter(type="capture.LeadCaptured").order_by("id"))
    assert [e.payload["submission_id"] for e in captured] == [s.pk for s in processed]
    outcomes = [(s.lead_id, s.outcome == "created") for s in processed]
    assert [(e.lead_id, e.payload["created"]) for e in captured] == outcomes
    created = DomainEvent.objects.filter(type="leads.LeadCreated").order_by("id")
    assert [e.lead_id for e in created] == [s.lead_id for s in processed if s.outcome == "created"]
    assert sorted(e.lead_id or 0 for e in created) == sorted(Lead.objects.values_list("id", flat=True))


def _fail_the_apply_of_batch(monkeypatch: pytest.MonkeyPatch, number: int, message: str) -> None:
    real = imports._apply
    calls = {"n": 0}

    def failing(*args: Any) -> tuple[int, int, int]:
        calls["n"] += 1
        if calls["n"] == number:
            raise RuntimeError(message)
        return real(*args)

    monkeypatch.setattr(imports, "_apply", failing)


def test_the_timeline_of_every_batch_is_written_beside_the_next_one(tmp_path: Path) -> None:
    job = _job(tmp_path)
    summary = imports.run_import(job_id=job.pk, workers=0)
    assert (summary.rows, summary.created, summary.merged, summary.rejected) == (7, 4, 2, 1)
    _assert_one_timeline_per_submission()
    ana = Lead.objects.get(email="ana@x.es")
    first = Submission.objects.filter(lead_id=ana.pk).order_by("id").first()
    assert first is not None
    created = DomainEvent.objects.get(type="leads.LeadCreated", lead_id=ana.pk)
    # As the batch created her: the city of a later batch's row is not in it.
    assert created.payload == {"source": "feria", "channel": "import", "fields": {
        "first_name": "Ana", "email": "ana@x.es", "phone": "+34612345678", "city": "Lugo", "country": "ES",
        "time_zone": "Europe/Madrid", "email_domain_kind": "business"}}  # fmt: skip
    captured = DomainEvent.objects.get(type="capture.LeadCaptured", payload__submission_id=first.pk)
    assert captured.occurred_at == first.received_at
    assert captured.payload == {
        "submission_id": first.pk, "channel": "import", "created": True, "form_id": None, "source": "feria",
        "utm": {"source": "feria"}, "summary": {},
        "fields": ["city", "country", "email", "email_domain_kind", "first_name", "phone", "time_zone"],
        "enriched": ["company_domain", "country", "time_zone"],
    }  # fmt: skip
    ana.refresh_from_db()
    assert ana.city == "Vigo"
    job.refresh_from_db()
    assert job.timeline_through_submission_id == Submission.objects.latest("id").pk
    assert not [t for t in threading.enumerate() if t.name == "import-timeline-writer"]


def test_a_failed_timeline_fails_the_job_and_the_resumed_run_writes_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _job(tmp_path)
    real = imports._write_timeline
    calls = {"n": 0}

    def lose_the_connection_on_the_second_batch(job: ImportJob, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the timeline's connection was lost")
        real(job, **kwargs)

    monkeypatch.setattr(imports, "_write_timeline", lose_the_connection_on_the_second_batch)
    with pytest.raises(RuntimeError, match="timeline's connection"):
        imports.run_import(job_id=job.pk, workers=0)
    job.refresh_from_db()
    # The second batch committed; the third waited for its timeline before committing and was rolled back.
    assert (job.status, job.processed_rows) == ("failed", 4)
    assert DomainEvent.objects.filter(type="capture.LeadCaptured").count() == 2  # the first batch's rows
    assert not [t for t in threading.enumerate() if t.name == "import-timeline-writer"]

    monkeypatch.setattr(imports, "_write_timeline", real)
    summary = imports.run_import(job_id=job.pk, workers=0)
    assert (summary.rows, summary.created, summary.merged, summary.rejected) == (7, 4, 2, 1)
    _assert_one_timeline_per_submission()
    job.refresh_from_db()
    assert job.status == "done"


def test_when_a_batch_fails_the_committed_ones_still_get_their_timeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _job(tmp_path)
    _fail_the_apply_of_batch(monkeypatch, 3, "the batch's connection was lost")
    with pytest.raises(RuntimeError, match="batch's connection"):
        imports.run_import(job_id=job.pk, workers=0)
    job.refresh_from_db()
    assert (job.status, job.processed_rows) == ("failed", 4)
    _assert_one_timeline_per_submission()  # the two committed batches: nothing missing, nothing more
    assert job.timeline_through_submission_id == Submission.objects.latest("id").pk
    assert not [t for t in threading.enumerate() if t.name == "import-timeline-writer"]


def test_a_job_interrupted_before_the_upgrade_does_not_get_its_timeline_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connection

    migration = importlib.import_module("embudo.capture.migrations.0003_import_timeline_checkpoint_of_earlier_jobs")
    job = _job(tmp_path)
    real = imports._apply
    _fail_the_apply_of_batch(monkeypatch, 3, "killed")
    with pytest.raises(RuntimeError):
        imports.run_import(job_id=job.pk, workers=0)
    # As the earlier code left such a job: its batches' events written, no timeline checkpoint.
    ImportJob.objects.filter(pk=job.pk).update(timeline_through_submission_id=0)
    with connection.cursor() as cursor:
        cursor.execute(migration.Migration.operations[0].sql)
    monkeypatch.setattr(imports, "_apply", real)
    imports.run_import(job_id=job.pk, workers=0)
    _assert_one_timeline_per_submission()
