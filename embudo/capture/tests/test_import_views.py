"""The CSV import UI: upload → preview → mapping → run (inline) → counts and rejected-rows report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from embudo.accounts.tests.factories import UserFactory
from embudo.capture.models import FieldMapping, ImportJob
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db

CSV = (
    "Nombre,Apellidos,Correo,Teléfono,Empresa,Notas\n"
    'maría,garcía,Maria@Example.es,612 345 678,Acme,=HYPERLINK("x")\n'
    "Bad,Row,not-an-email,,,=cmd|' /C calc'!A0\n"
)


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.IMPORT_RUN_INLINE = True


def _client(role: str = "marketing") -> Client:
    client = Client()
    client.force_login(UserFactory(role=role))
    return client


def test_upload_preview_map_run_and_report() -> None:
    client = _client()
    assert client.get("/capture/imports/").status_code == 200
    upload = SimpleUploadedFile("feria.csv", CSV.encode(), content_type="text/csv")
    response = client.post("/capture/imports/", {"file": upload, "source": "feria"})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/capture/imports/{job.pk}/"
    assert len(job.file_sha256) == 64 and Path(job.file_path).exists()

    page = client.get(f"/capture/imports/{job.pk}/")
    html = page.content.decode()
    assert "maría" in html and "Maria@Example.es" in html  # preview
    form = page.context["form"]
    assert form.initial["col_0"] == "first_name" and form.initial["col_2"] == "email"
    assert form.initial["col_3"] == "phone" and form.initial["col_5"] == ""

    data = {f"col_{i}": form.initial[f"col_{i}"] for i in range(6)}
    data.update({"col_5": "custom:Notas", "source": "feria", "default_region": "ES", "team": ""})
    response = client.post(f"/capture/imports/{job.pk}/", data)
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.created_count, job.merged_count, job.rejected_count) == ("done", 1, 0, 1)
    assert FieldMapping.objects.get(source="feria").mapping["Notas"] == "custom:Notas"
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.phone) == ("María", "García", "+34612345678")

    result = client.get(f"/capture/imports/{job.pk}/")
    assert "not-an-email" in result.content.decode()
    progress = client.get(f"/capture/imports/{job.pk}/progress/", headers={"HX-Request": "true"})
    assert progress.status_code == 200 and "import-progress-card" in progress.content.decode()
    report = client.get(f"/capture/imports/{job.pk}/rejected.csv")
    body = b"".join(report.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"\xef\xbb\xbf")  # a UTF-8 BOM, for Excel
    text = body.decode("utf-8-sig")
    assert text.startswith("row,field,message")
    assert "'=cmd" in text and ",=cmd" not in text


def test_mapping_errors_are_shown_on_the_form() -> None:
    client = _client("admin")
    upload = SimpleUploadedFile("x.csv", b"a,b\n1,2\n", content_type="text/csv")
    client.post("/capture/imports/", {"file": upload})
    job = ImportJob.objects.get()
    response = client.post(f"/capture/imports/{job.pk}/", {"col_0": "", "col_1": "", "default_region": "ES"})
    assert response.status_code == 200 and "Map at least one" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "uploaded"


def test_a_bad_file_is_refused_at_upload(settings: Any) -> None:
    client = _client("manager")
    response = client.post("/capture/imports/", {"file": SimpleUploadedFile("e.csv", b" \n", content_type="text/csv")})
    assert response.status_code == 200 and ImportJob.objects.count() == 0
    settings.IMPORT_MAX_BYTES = 10
    big = SimpleUploadedFile("b.csv", b"email\n" + b"a@b.es\n" * 10, content_type="text/csv")
    response = client.post("/capture/imports/", {"file": big})
    assert "larger than" in response.content.decode() and ImportJob.objects.count() == 0


def test_sales_reps_cannot_import() -> None:
    assert _client("sales_rep").get("/capture/imports/").status_code == 403


def test_anonymous_users_are_sent_to_login() -> None:
    assert Client().get("/capture/imports/").status_code == 302
