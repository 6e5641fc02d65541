"""An import that fails after some batches says what it saved, and resumes after them (UI and CLI)."""

from __future__ import annotations

import csv
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.accounts.tests.factories import UserFactory
from embudo.capture import imports
from embudo.capture import selectors as capture_selectors
from embudo.capture.models import ImportJob, Submission
from embudo.core import clock
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db

ROWS = [[f"P{i}", f"p{i}@x.es"] for i in range(5)] + [["Bad", "bad@@"]]


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.IMPORT_RUN_INLINE = True
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)


def _content() -> bytes:
    text = StringIO()
    writer = csv.writer(text)
    writer.writerow(["name", "email"])
    writer.writerows(ROWS)
    return text.getvalue().encode()


@pytest.fixture
def second_batch_fails(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """The second batch's apply raises (a bug, a lost connection) until ``state["fail"]`` is cleared."""
    real_apply = imports._apply
    state = {"fail": True, "applied": False}

    def apply(*args: Any, **kwargs: Any) -> tuple[int, int, int]:
        if state["fail"] and state["applied"]:
            raise RuntimeError("connection to the database lost")
        state["applied"] = True
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(imports, "_apply", apply)
    return state


def _client() -> Client:
    client = Client()
    client.force_login(UserFactory(role="manager"))
    return client


def _start_through_the_ui(client: Client) -> ImportJob:
    upload = SimpleUploadedFile("list.csv", _content(), content_type="text/csv")
    assert client.post("/capture/imports/", {"file": upload}).status_code == 302
    job = ImportJob.objects.get()
    data = {"col_0": "first_name", "col_1": "email", "source": "", "default_region": "", "team": ""}
    assert client.post(f"/capture/imports/{job.pk}/", data).status_code == 302
    job.refresh_from_db()
    return job


def test_a_failed_import_says_what_was_saved_and_resumes_from_the_page(second_batch_fails: dict[str, bool]) -> None:
    client = _client()
    job = _start_through_the_ui(client)
    assert (job.status, job.processed_rows, job.created_count, job.total_rows) == ("failed", 2, 2, 6)
    html = client.get(f"/capture/imports/{job.pk}/").content.decode()
    assert "nothing was saved" not in html
    assert "2 rows were saved before it stopped (2 leads created, 0 merged, 0 rejected)." in html
    assert "4 rows were not processed." in html and "connection to the database lost" in html
    assert f'action="/capture/imports/{job.pk}/resume/"' in html

    second_batch_fails["fail"] = False
    assert client.post(f"/capture/imports/{job.pk}/resume/").status_code == 302
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count, job.rejected_count) == ("done", 6, 5, 1)
    assert Submission.objects.count() == 6 and Lead.objects.count() == 5
    assert capture_selectors.reconcile().unexplained == 0
    html = client.get(f"/capture/imports/{job.pk}/").content.decode()
    assert "/resume/" not in html and "bad@@" in html

    # A finished import cannot be resumed again: nothing happens, the page says why.
    response = client.post(f"/capture/imports/{job.pk}/resume/", follow=True)
    assert "cannot be resumed" in response.content.decode() and Submission.objects.count() == 6
    assert client.get(f"/capture/imports/{job.pk}/resume/").status_code == 405


def test_resume_from_the_page_queues_the_worker_job(settings: Any, second_batch_fails: dict[str, bool]) -> None:
    client = _client()
    job = _start_through_the_ui(client)
    settings.IMPORT_RUN_INLINE = False
    assert client.post(f"/capture/imports/{job.pk}/resume/").status_code == 302
    job.refresh_from_db()
    assert (job.status, job.error) == ("running", "")
    queued = ProcrastinateJob.objects.get(task_name="capture.run_import")
    assert (queued.status, queued.args) == ("todo", {"job_id": job.pk})
    # Queued, so not stalled (even long after it started): the page polls, and offers no second resume.
    ImportJob.objects.filter(pk=job.pk).update(started_at=clock.now() - timedelta(hours=1))
    job.refresh_from_db()
    assert not imports.is_stalled(job)
    html = client.get(f"/capture/imports/{job.pk}/").content.decode()
    assert "/resume/" not in html and "hx-get" in html


def test_a_run_whose_worker_died_is_offered_a_resume(second_batch_fails: dict[str, bool]) -> None:
    client = _client()
    job = _start_through_the_ui(client)
    # As a worker killed in the middle leaves it: running, batches committed, no run holding the job's lock.
    ImportJob.objects.filter(pk=job.pk).update(status="running", error="", started_at=clock.now())
    job.refresh_from_db()
    assert not imports.is_stalled(job)  # just started: maybe about to take the lock
    assert "/resume/" not in client.get(f"/capture/imports/{job.pk}/").content.decode()
    ImportJob.objects.filter(pk=job.pk).update(started_at=clock.now() - timedelta(minutes=10))
    job.refresh_from_db()
    assert imports.is_stalled(job)
    html = client.get(f"/capture/imports/{job.pk}/").content.decode()
    assert "The import stopped" in html and "2 rows were saved" in html and "/resume/" in html
    second_batch_fails["fail"] = False
    client.post(f"/capture/imports/{job.pk}/resume/")
    job.refresh_from_db()
    assert (job.status, Submission.objects.count(), Lead.objects.count()) == ("done", 6, 5)


def test_a_run_that_holds_the_lock_is_neither_stalled_nor_run_twice(second_batch_fails: dict[str, bool]) -> None:
    client = _client()
    job = _start_through_the_ui(client)
    ImportJob.objects.filter(pk=job.pk).update(status="running", started_at=clock.now() - timedelta(hours=1))
    job.refresh_from_db()
    # Another session holds the job's run lock, as a live run in a worker does.
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(imports._RUN_LOCK, [job.pk])
        assert not imports.is_stalled(job)
        with pytest.raises(imports.ImportError_, match="already running"):
            imports.run_import(job_id=job.pk)
        with pytest.raises(imports.ImportError_):
            imports.resume_import(job_id=job.pk)
    finally:
        other.close()
    job.refresh_from_db()
    assert (job.status, job.processed_rows) == ("running", 2)


def test_resume_from_the_command_line(tmp_path: Path, second_batch_fails: dict[str, bool]) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(_content())
    with pytest.raises(CommandError, match=r"2 rows were saved; resume after them with: .*--resume") as info:
        call_command("import", "leads", str(path), stdout=StringIO(), stderr=StringIO())
    assert info.value.returncode == 1
    job = ImportJob.objects.get()
    assert (job.status, job.processed_rows) == ("failed", 2)

    second_batch_fails["fail"] = False
    out = StringIO()
    call_command("import", "leads", "--resume", str(job.pk), stdout=out, stderr=StringIO())
    assert "after 2 saved rows" in out.getvalue() and "6 rows" in out.getvalue()
    assert "5 created, 0 merged, 1 rejected" in out.getvalue()
    assert Submission.objects.count() == 6 and Lead.objects.count() == 5
    report = Path(imports.rejected_report_path(job.pk)).read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in report[1:]] == ["7"]

    with pytest.raises(CommandError, match="is done: only a failed import"):
        call_command("import", "leads", "--resume", str(job.pk), stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="No import job"):
        call_command("import", "leads", "--resume", "999999", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="not both"):
        call_command("import", "leads", str(path), "--resume", str(job.pk), stdout=StringIO(), stderr=StringIO())


def test_a_changed_file_is_not_resumed(tmp_path: Path, second_batch_fails: dict[str, bool]) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(_content())
    with pytest.raises(CommandError):
        call_command("import", "leads", str(path), stdout=StringIO(), stderr=StringIO())
    path.write_bytes(_content().replace(b"P1,", b"Q1,"))
    second_batch_fails["fail"] = False
    job = ImportJob.objects.get()
    with pytest.raises(CommandError, match="has changed since this import started"):
        call_command("import", "leads", "--resume", str(job.pk), stdout=StringIO(), stderr=StringIO())
    assert Submission.objects.count() == 2
