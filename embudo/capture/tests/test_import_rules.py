"""Import rules shared with the per-submission path: what enrichment infers only fills empty fields, a row's own
country reads its phone, and whether new leads are routed is decided once per file."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.accounts.tests.factories import UserFactory
from embudo.capture import imports
from embudo.capture.domain import normalize
from embudo.capture.models import ImportJob
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.IMPORT_RUN_INLINE = True


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _run(path: Path, **options: Any) -> imports.ImportSummary:
    job = imports.create_job_for_file(path=path, mapping=None, **options)
    return imports.run_import(job_id=job.pk)


def _existing(**values: Any) -> Lead:
    now = "2026-01-01T00:00:00Z"
    return Lead.objects.create(created_at=now, updated_at=now, **values)


# --- inferred values only fill empty fields --------------------------------------------------------


def test_a_country_inferred_from_the_phone_does_not_replace_the_leads_own(tmp_path: Path) -> None:
    mexican = _existing(first_name="Ana", email="ana@x.es", country="MX", time_zone="America/Mexico_City")
    empty = _existing(first_name="Eva", email="eva@x.es")
    stated = _existing(first_name="Leo", email="leo@x.es", country="MX")
    path = _csv(tmp_path / "a.csv", ["email", "phone", "country"], [
        ["ana@x.es", "+34 600 123 456", ""],  # only a Spanish phone: the lead stays Mexican
        ["eva@x.es", "+34 600 123 457", ""],  # the lead has no country: the phone's fills it
        ["leo@x.es", "+34 600 123 458", "España"],  # a stated country follows survivorship: latest wins
    ])  # fmt: skip
    summary = _run(path)
    assert (summary.merged, summary.rejected) == (3, 0)
    mexican.refresh_from_db()
    assert (mexican.phone, mexican.country, mexican.time_zone) == ("+34600123456", "MX", "America/Mexico_City")
    empty.refresh_from_db()
    assert (empty.country, empty.time_zone) == ("ES", "Europe/Madrid")
    stated.refresh_from_db()
    assert (stated.country, stated.time_zone) == ("ES", "Europe/Madrid")
    changes = DomainEvent.objects.get(type="leads.LeadUpdated", lead_id=mexican.pk).payload["changes"]
    assert "phone" in changes and "country" not in changes and "time_zone" not in changes


def test_within_a_file_stated_values_win_and_the_first_inferred_one_fills(tmp_path: Path) -> None:
    path = _csv(tmp_path / "b.csv", ["email", "phone", "country"], [
        ["ana@x.es", "+34 600 000 001", ""],  # new lead: the phone's country (ES) fills it
        ["ana@x.es", "+52 55 1234 5678", ""],  # another inferred country does not replace it
        ["eva@x.es", "+34 600 000 002", ""],
        ["eva@x.es", "", "México"],  # a stated country does
        ["eva@x.es", "+33 1 23 45 67 89", ""],  # and a later inferred one does not undo it
    ])  # fmt: skip
    _run(path)
    ana = Lead.objects.get(email="ana@x.es")
    assert (ana.phone, ana.country, ana.time_zone) == ("+525512345678", "ES", "Europe/Madrid")
    eva = Lead.objects.get(email="eva@x.es")
    assert (eva.phone, eva.country) == ("+33123456789", "MX")


# --- the row's country reads its phone -------------------------------------------------------------


def test_a_rows_own_country_reads_its_phone_before_the_default_region(tmp_path: Path) -> None:
    path = _csv(tmp_path / "c.csv", ["email", "phone", "country"], [
        ["mx@x.es", "55 1234 5678", "México"],  # Mexican, although the job's default is Spain
        ["es@x.es", "612 345 678", "México"],  # not a Mexican number: read in the default region
        ["no@x.es", "612 345 679", ""],
    ])  # fmt: skip
    summary = _run(path, default_region="ES")
    assert (summary.created, summary.rejected) == (3, 0)
    phones = dict(Lead.objects.values_list("email", "phone"))
    assert phones == {"mx@x.es": "+525512345678", "es@x.es": "+34612345678", "no@x.es": "+34612345679"}


@pytest.mark.parametrize(
    "fields",
    [
        {"phone": "55 1234 5678", "country": "México"},
        {"phone": "612 345 678", "country": "México"},
        {"phone": "12", "country": "México"},
        {"phone": "600 123 456", "country": "España"},
        {"phone": "(212) 555-0100", "country": "US"},
    ],
)
def test_the_phone_region_is_the_per_submission_paths(fields: dict[str, str]) -> None:
    result = imports.normalize_row(fields, {}, default_region="ES")
    reference = normalize.normalize_lead_fields(fields, default_region="ES")
    assert result.ok == reference.is_valid
    if reference.is_valid:
        assert result.values["phone"] == reference.values["phone"]
    else:
        assert result.errors == {k: list(v) for k, v in reference.errors.items()}


# --- routing, once per job ---------------------------------------------------------------------------


def _routed(job: ImportJob) -> set[int]:
    jobs = ProcrastinateJob.objects.filter(task_name="routing.route_leads")
    return {lead_id for j in jobs for lead_id in j.args["lead_ids"]}


def test_routing_is_decided_for_the_whole_file_not_per_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)
    monkeypatch.setattr(imports, "ROUTE_IMPORTED_MAX", 3)
    big = _csv(tmp_path / "big.csv", ["email"], [[f"p{i}@x.es"] for i in range(5)])
    job = imports.create_job_for_file(path=big, mapping=None)
    assert not imports.routes_new_leads(job)
    summary = imports.run_import(job_id=job.pk)
    # Batches of 2 rows each are under the limit, the file is not: none of its new leads is routed.
    assert (summary.created, summary.routes_new_leads) == (5, False) and _routed(job) == set()
    assert ProcrastinateJob.objects.filter(task_name="scoring.score_leads").exists()

    small = _csv(tmp_path / "small.csv", ["email"], [[f"s{i}@x.es"] for i in range(3)])
    job = imports.create_job_for_file(path=small, mapping=None)
    assert imports.routes_new_leads(job)
    summary = imports.run_import(job_id=job.pk)
    assert summary.routes_new_leads and _routed(job) == set(
        Lead.objects.filter(email__startswith="s").values_list("id", flat=True)
    )
    job.refresh_from_db()
    assert job.total_rows == 3 and imports.routes_new_leads(job)


def test_the_import_page_says_whether_new_leads_are_routed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "ROUTE_IMPORTED_MAX", 3)
    client = Client()
    client.force_login(UserFactory(role="admin"))
    for rows, expected in ((3, "New leads are routed to sales reps"), (4, "New leads are not routed")):
        content = "email\n" + "".join(f"r{rows}-{i}@x.es\n" for i in range(rows))
        upload = SimpleUploadedFile(f"{rows}.csv", content.encode(), content_type="text/csv")
        client.post("/capture/imports/", {"file": upload})
        job = ImportJob.objects.order_by("-id")[0]
        assert expected in client.get(f"/capture/imports/{job.pk}/").content.decode()
        client.post(f"/capture/imports/{job.pk}/", {"col_0": "email", "source": "", "default_region": "", "team": ""})
        job.refresh_from_db()
        assert job.status == "done"
        assert expected in client.get(f"/capture/imports/{job.pk}/").content.decode()


def test_without_a_default_region_the_teams_country_reads_local_phones(tmp_path: Path) -> None:
    from embudo.accounts.tests.factories import TeamFactory

    team = TeamFactory.create(default_country="MX")
    path = _csv(tmp_path / "t.csv", ["email", "phone"], [["t@x.es", "55 1234 5678"]])
    job = imports.create_job_for_file(path=path, mapping=None, team_id=team.pk)
    assert job.default_region == "MX"
    imports.run_import(job_id=job.pk)
    assert Lead.objects.get().phone == "+525512345678"
