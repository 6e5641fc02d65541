"""The bulk import's ids follow the file, and its SQL is a fixed number of statements per batch."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from embudo.capture import imports
from embudo.capture.models import Submission
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def _file(path: Path, rows: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "phone"])
        # Every third row repeats an earlier person (by email): the lead is created once, in file order.
        writer.writerows([f"p{i if i % 3 else i // 3}@x.es", ""] for i in range(rows))
    return path


def test_new_leads_and_submissions_take_ids_in_file_order(tmp_path: Path) -> None:
    job = imports.create_job_for_file(path=_file(tmp_path / "a.csv", 30), mapping=None)
    imports.run_import(job_id=job.pk)
    leads = list(Lead.objects.order_by("id").values_list("email", flat=True))
    first_seen = list(dict.fromkeys(s.payload["email"] for s in Submission.objects.order_by("context__row")))
    assert leads == first_seen
    subs = list(Submission.objects.order_by("id").values_list("context__row", flat=True))
    assert subs == sorted(subs)
    captured = DomainEvent.objects.filter(type="capture.LeadCaptured").order_by("id")
    assert [e.payload["submission_id"] for e in captured] == list(Submission.objects.order_by("id").values_list(
        "id", flat=True))  # fmt: skip


def test_statements_per_batch_do_not_grow_with_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, django_assert_max_num_queries: Any
) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 50)
    monkeypatch.setattr(imports, "BATCH_ROWS", 400)
    job = imports.create_job_for_file(path=_file(tmp_path / "b.csv", 450), mapping=None)
    # Two batches (50 rows, then 400): ~45 statements each (job bookkeeping and the timeline's transaction
    # included), whatever its size, and 2 per run (the run's advisory lock taken and released).
    with django_assert_max_num_queries(102):
        summary = imports.run_import(job_id=job.pk)
    people = len({i if i % 3 else i // 3 for i in range(450)})
    assert (summary.rows, summary.created, summary.merged) == (450, people, 450 - people)
