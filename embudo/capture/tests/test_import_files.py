"""What a CSV file can be: its encoding (Excel on Windows writes Windows-1252 or UTF-16), its header (empty or
repeated names), an earlier import of the same file; and the rejected-rows report a spreadsheet opens safely."""

from __future__ import annotations

import csv
import io
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from embudo.accounts.tests.factories import UserFactory
from embudo.capture import imports
from embudo.capture.models import ImportJob, Submission
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.IMPORT_RUN_INLINE = True


def _client() -> Client:
    client = Client()
    client.force_login(UserFactory(role="marketing"))
    return client


def _upload(client: Client, name: str, content: bytes) -> ImportJob:
    response = client.post("/capture/imports/", {"file": SimpleUploadedFile(name, content, content_type="text/csv")})
    assert response.status_code == 302, response.content.decode()
    return ImportJob.objects.order_by("-id").first()  # type: ignore[return-value]


def _run_mapping_page(client: Client, job: ImportJob, **extra: str) -> None:
    """Post the mapping page as proposed (the form's initial values)."""
    form = client.get(f"/capture/imports/{job.pk}/").context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields if name.startswith("col_")}
    data.update({"source": "", "default_region": "", "team": "", **extra})
    assert client.post(f"/capture/imports/{job.pk}/", data).status_code == 302


def _cli(*args: str) -> str:
    out = StringIO()
    call_command("import", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


# --- encoding -----------------------------------------------------------------------------------


def test_a_windows_1252_file_from_excel_is_read_as_such(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("Nombre;Apellidos;Ciudad;Correo\nJosé;Muñoz;Cádiz;jose@x.es\n".encode("cp1252"))
    assert imports.detect_encoding(path) == "cp1252"
    assert "1 created, 0 merged, 0 rejected" in _cli("leads", str(path))
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.city) == ("José", "Muñoz", "Cádiz")
    assert Submission.objects.get().payload["Ciudad"] == "Cádiz"


def test_a_non_utf8_byte_after_the_sample_still_switches_the_whole_file(tmp_path: Path) -> None:
    rows = "".join(f"Persona{i};p{i}@x.es;Madrid\n" for i in range(3000))  # ~80 kB of ASCII first
    path = tmp_path / "late.csv"
    path.write_bytes(("Nombre;Correo;Ciudad\n" + rows + "Begoña;bego@x.es;Logroño\n").encode("cp1252"))
    assert path.stat().st_size > 64 * 1024
    assert imports.detect_encoding(path) == "cp1252"
    _cli("leads", str(path))
    bego = Lead.objects.get(email="bego@x.es")
    assert (bego.first_name, bego.city) == ("Begoña", "Logroño")
    assert not Lead.objects.filter(city__contains="\ufffd").exists()


def test_utf16_and_utf8_with_a_bom_are_read_by_their_mark(tmp_path: Path) -> None:
    utf16 = tmp_path / "unicode.txt"  # Excel's "Unicode text": UTF-16 with a BOM, tab-separated
    utf16.write_bytes("Nombre\tCorreo\tCiudad\nJosé\tjose@x.es\tCádiz\n".encode("utf-16"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes("Correo,Nombre\nana@x.es,Ángela\n".encode("utf-8-sig"))
    assert (imports.detect_encoding(utf16), imports.detect_encoding(bom)) == ("utf-16", "utf-8-sig")
    assert imports.preview(bom).columns == ["Correo", "Nombre"]
    _cli("leads", str(utf16))
    _cli("leads", str(bom))
    assert Lead.objects.get(email="jose@x.es").city == "Cádiz"
    assert Lead.objects.get(email="ana@x.es").first_name == "Ángela"


def test_the_preview_shows_the_encoding_it_read_the_file_in() -> None:
    client = _client()
    job = _upload(client, "excel.csv", "Nombre;Ciudad;Correo\nJosé;Cádiz;jose@x.es\n".encode("cp1252"))
    html = client.get(f"/capture/imports/{job.pk}/").content.decode()
    assert "Character encoding: Windows-1252" in html and "Cádiz" in html and "\ufffd" not in html
    _run_mapping_page(client, job)
    assert Lead.objects.get().city == "Cádiz"
    utf8 = _upload(client, "utf8.csv", "Nombre,Correo\nJosé,jose2@x.es\n".encode())
    assert "Character encoding: UTF-8" in client.get(f"/capture/imports/{utf8.pk}/").content.decode()


# --- header -------------------------------------------------------------------------------------


def test_empty_header_cells_are_named_and_repeated_names_numbered() -> None:
    assert imports.column_names(["email", " name ", "", " "]) == ["email", "name", "Column 3", "Column 4"]
    assert imports.column_names(["phone", "phone", "phone (2)", "phone"]) == [
        "phone",
        "phone (3)",
        "phone (2)",
        "phone (4)",
    ]


def test_a_file_with_trailing_empty_columns_and_a_repeated_name_imports() -> None:
    client = _client()
    content = b"email,name,phone,phone,,\r\nana@x.es,Ana,600111222,611222333,,\r\n"
    job = _upload(client, "excel.csv", content)
    page = client.get(f"/capture/imports/{job.pk}/")
    assert page.context["preview"].columns == ["email", "name", "phone", "phone (2)", "Column 5", "Column 6"]
    form = page.context["form"]
    assert [form.initial[f"col_{i}"] for i in range(6)] == ["email", "first_name", "phone", "", "", ""]
    _run_mapping_page(client, job, default_region="ES")
    job.refresh_from_db()
    assert (job.status, job.created_count, job.rejected_count) == ("done", 1, 0)
    lead = Lead.objects.get()
    assert (lead.first_name, lead.phone) == ("Ana", "+34600111222")
    assert Submission.objects.get().payload["phone (2)"] == "611222333"


# --- the rejected-rows report ---------------------------------------------------------------------


def test_safe_cell_sees_formulas_behind_spaces_and_full_width_signs() -> None:
    risky = [" =1+1", "\t=1", "  @SUM(A1)", "\uff1d1+1", "\uff0b1", " \uff20x", "\n=1", "\u3000=1"]
    assert all(imports.safe_cell(v) == "'" + v for v in risky)
    assert [imports.safe_cell(v) for v in ("ok", " ok", "a=b", "")] == ["ok", " ok", "a=b", ""]


def test_the_downloaded_report_is_excel_safe_and_marked_utf8() -> None:
    client = _client()
    text = io.StringIO()
    csv.writer(text).writerows([
        ['=HYPERLINK("http://evil.example","x")', "Correo", "Nombre", "\uff1dcmd"],
        ["a", "not-an-email", " =1+1", "\uff1d2"],
        ["b", "ok@x.es", "José", ""],
    ])  # fmt: skip
    job = _upload(client, "r.csv", text.getvalue().encode())
    _run_mapping_page(client, job)
    job.refresh_from_db()
    assert (job.created_count, job.rejected_count) == (1, 1)
    response = client.get(f"/capture/imports/{job.pk}/rejected.csv")
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert lines[0] == ["row", "field", "message", "'" + '=HYPERLINK("http://evil.example","x")', "Correo",
                        "Nombre", "'\uff1dcmd"]  # fmt: skip
    assert lines[1][:2] == ["2", "email"] and lines[1][3:] == ["a", "not-an-email", "' =1+1", "'\uff1d2"]
    page = client.get(f"/capture/imports/{job.pk}/").content.decode()
    assert "not-an-email" in page


# --- the same file again ------------------------------------------------------------------------


def test_uploading_a_file_already_imported_warns_with_a_link() -> None:
    client = _client()
    content = b"name,city\nAna,Madrid\n"
    first = _upload(client, "list.csv", content)
    assert "already imported" not in client.get(f"/capture/imports/{first.pk}/").content.decode()
    _run_mapping_page(client, first)
    first.refresh_from_db()
    second = _upload(client, "list (copy).csv", content)
    page = client.get(f"/capture/imports/{second.pk}/")
    html = page.content.decode()
    assert "This file was already imported on" in html and f"import #{first.pk}" in html
    assert f'href="/capture/imports/{first.pk}/"' in html
    assert page.context["earlier"] == first
    _run_mapping_page(client, second)  # a warning, not a block
    assert Lead.objects.filter(first_name="Ana").count() == 2
    other = _upload(client, "other.csv", b"name,city\nEva,Lugo\n")
    assert "already imported" not in client.get(f"/capture/imports/{other.pk}/").content.decode()


def test_the_command_warns_when_the_file_was_already_imported(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("email\nana@x.es\n", encoding="utf-8")
    _cli("leads", str(path))
    err = StringIO()
    call_command("import", "leads", str(path), stdout=StringIO(), stderr=err)
    first = ImportJob.objects.order_by("id").first()
    assert first is not None and "already imported on" in err.getvalue() and f"(import #{first.pk})" in err.getvalue()
