"""The bulk CSV import: same rules as the per-submission path, set-based."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from embudo.capture import imports, services
from embudo.capture import selectors as capture_selectors
from embudo.capture.domain import enrich, normalize
from embudo.capture.models import FieldMapping, ImportJob, Submission
from embudo.core.models import DomainEvent
from embudo.leads import services as leads_services
from embudo.leads.models import Company, Lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def _csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _existing(**values: Any) -> Lead:
    now = "2026-01-01T00:00:00Z"
    return Lead.objects.create(created_at=now, updated_at=now, **values)


def _run(path: Path, **options: Any) -> imports.ImportSummary:
    workers = options.pop("workers", None)
    job = imports.create_job_for_file(path=path, mapping=options.pop("mapping", None), **options)
    return imports.run_import(job_id=job.pk, workers=workers)


HEADER = ["Nombre", "Apellidos", "Correo", "Teléfono", "Empresa", "País", "Ciudad", "Notas"]


def test_import_normalizes_matches_dedupes_and_reports(tmp_path: Path) -> None:
    known = _existing(first_name="Ana", last_name="", email="ana@acme.es", phone="", city="Sevilla")
    by_phone = _existing(first_name="Luis", email="", phone="+34600111222")
    rows = [
        ["  maría ", "GARCÍA lópez", "Maria@Example.COM", "612 34 56 78", "Acme SL", "España", "madrid", "x"],
        ["Ana", "Ruiz", "ANA@acme.es", "", "", "", "", ""],  # existing by email: fill last_name, keep city
        ["", "Pérez", "", "600 111 222", "", "", "", ""],  # existing by phone
        ["Mary", "Other", "maria@example.com", "", "", "", "Bilbao", ""],  # within-file duplicate
        ["Bad", "Email", "not-an-email", "", "", "", "", ""],  # rejected
        ["", "", "", "", "Empty SL", "", "", ""],  # no contact
        ["Jo", "Biz", "jo@bigcorp.io", "", "", "", "", ""],  # business domain -> company
    ]
    path = _csv(tmp_path / "leads.csv", HEADER, rows)
    summary = _run(path, source="fair-2026", default_region="ES")

    assert (summary.rows, summary.created, summary.merged, summary.rejected) == (7, 2, 3, 2)
    maria = Lead.objects.get(email="maria@example.com")
    assert (maria.first_name, maria.last_name) == ("María", "García López")
    assert (maria.phone, maria.country) == ("+34612345678", "ES")
    assert maria.city == "Bilbao"  # latest non-empty wins for contact fields
    assert maria.time_zone == "Europe/Madrid" and maria.email_domain_kind == "business"
    known.refresh_from_db()
    assert (known.first_name, known.last_name, known.city) == ("Ana", "Ruiz", "Sevilla")  # never overwritten by empty
    by_phone.refresh_from_db()
    assert (by_phone.first_name, by_phone.last_name) == ("Luis", "Pérez")
    jo = Lead.objects.get(email="jo@bigcorp.io")
    assert jo.company_id == Company.objects.get(domain="bigcorp.io").pk
    assert Lead.objects.count() == 4

    subs = Submission.objects.filter(channel="import").order_by("id")
    assert subs.count() == 7
    assert [s.status for s in subs] == ["processed"] * 4 + ["rejected"] * 2 + ["processed"]
    assert [s.outcome for s in subs][:4] == ["created", "merged", "merged", "merged"]
    assert subs[0].payload["Correo"] == "Maria@Example.COM" and subs[0].context["row"] == 2
    bad = subs[4]
    assert bad.reason == "invalid" and "email" in bad.errors
    assert subs[5].reason == "no_contact"
    assert DomainEvent.objects.filter(type="leads.LeadCreated", lead_id=maria.pk).count() == 1
    assert DomainEvent.objects.filter(type="capture.LeadCaptured").count() == 5
    changes = DomainEvent.objects.filter(type="leads.LeadUpdated", lead_id=known.pk).get().payload["changes"]
    assert changes["last_name"] == ["", "Ruiz"] and "city" not in changes and "first_name" not in changes
    report = capture_selectors.reconcile()
    assert report.received == 7 and report.unexplained == 0
    assert (report.created, report.merged, report.rejected) == (2, 3, 2)
    job = ImportJob.objects.get()
    assert (job.status, job.created_count, job.merged_count, job.rejected_count) == ("done", 2, 3, 2)
    lines = Path(summary.report_path).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("row,field,message") and any(line.startswith("6,email,") for line in lines)


def test_import_reruns_nothing_when_done(tmp_path: Path) -> None:
    path = _csv(tmp_path / "a.csv", ["email"], [["a@x.es"]])
    job = imports.create_job_for_file(path=path, mapping=None)
    imports.run_import(job_id=job.pk)
    again = imports.run_import(job_id=job.pk)
    assert again.created == 1 and Lead.objects.count() == 1 and Submission.objects.count() == 1


def test_import_with_a_process_pool_and_semicolons(tmp_path: Path) -> None:
    rows = [[f"Person{i}", f"p{i % 50}@example.org", f"+34 600 000 {i:03d}"] for i in range(300)]
    path = _csv(tmp_path / "b.csv", ["First name", "E-mail", "Mobile"], rows, delimiter=";")
    summary = _run(path, workers=2)
    assert (summary.created, summary.merged, summary.rejected) == (50, 250, 0)
    assert Lead.objects.count() == 50


def test_custom_fields_and_explicit_mapping(tmp_path: Path) -> None:
    path = _csv(tmp_path / "c.csv", ["mail", "plan", "skip"], [["z@x.es", "pro", "no"], ["z@x.es", "max", ""]])
    _run(path, mapping={"mail": "email", "plan": "custom:plan", "skip": ""})
    assert Lead.objects.get().custom_fields == {"plan": "max"}


def test_bad_mapping_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path / "d.csv", ["a", "b"], [["1", "2"]])
    with pytest.raises(imports.BadImportMapping):
        imports.create_job_for_file(path=path, mapping={"a": "nope"})
    with pytest.raises(imports.BadImportMapping):
        imports.create_job_for_file(path=path, mapping={"a": ""})


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("")
    with pytest.raises(imports.BadImportFile):
        imports.create_job_for_file(path=path, mapping=None)


def test_mapping_is_proposed_from_synonyms_then_saved_per_source() -> None:
    columns = ["Nombre", "Apellidos", "Correo", "Teléfono", "Empresa", "País", "Ciudad", "E-mail", "Mobile", "x"]
    proposal = imports.propose_mapping(columns)
    assert proposal["Nombre"] == "first_name" and proposal["Correo"] == "email" and proposal["E-mail"] == ""
    assert proposal["Teléfono"] == "phone" and proposal["Mobile"] == "" and proposal["País"] == "country"
    imports.save_mapping(source="crm", mapping={"x": "custom:x", "Correo": "email"})
    assert FieldMapping.objects.get(source="crm").mapping["x"] == "custom:x"
    assert imports.propose_mapping(columns, source="crm")["x"] == "custom:x"


def test_safe_cell_neutralises_formulas() -> None:
    assert [imports.safe_cell(v) for v in ("=1+1", "+3", "-2", "@x", "\tx", "ok")] == [
        "'=1+1",
        "'+3",
        "'-2",
        "'@x",
        "'\tx",
        "ok",
    ]


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "Ana.Gómez@Bücher.de", "phone": "+52 1 55 1234 5678", "first_name": "ana"},
        {"email": "x@mailinator.com", "phone": "0034 600 123 456", "country": "méxico"},
        {"email": "mailto:A@B.CO", "phone": "(212) 555-0100", "country": "US", "language": "Spanish"},
        {"whatsapp_id": "34600123456", "company_domain": "https://www.acme.es/x"},
        {"email": "bad@@x", "phone": "12"},
    ],
)
def test_normalize_row_matches_the_per_submission_functions(fields: dict[str, str]) -> None:
    result = imports.normalize_row(fields, {}, default_region="")
    reference = normalize.normalize_lead_fields(fields, default_region=None)
    assert result.ok == reference.is_valid
    if not reference.is_valid:
        assert set(result.errors) == set(reference.errors)
        return
    values = dict(reference.values)
    if values.get("whatsapp_id") and not values.get("phone"):
        values["phone"] = values["whatsapp_id"]
    info = enrich.enrich(values)
    for key in ("country", "time_zone", "language"):
        if getattr(info, key) and not values.get(key):
            values[key] = getattr(info, key)
    if info.email_domain_kind:
        values["email_domain_kind"] = info.email_domain_kind
    assert result.values == values
    assert result.company_domain == info.company_domain
    assert set(result.enriched) == set(info.filled)


def test_per_submission_path_and_import_agree(tmp_path: Path) -> None:
    payload = {"email": "Eva@Corp.es", "phone": "600 123 456", "first_name": "eva"}
    services.capture(channel="api", payload=payload, meta=services.SubmissionMeta(),
                     context=services.ProcessingContext(default_region="ES"))  # fmt: skip
    api_lead = Lead.objects.get()
    Lead.objects.all().delete()
    path = _csv(tmp_path / "f.csv", list(payload), [list(payload.values())])
    _run(path, default_region="ES")
    imported = Lead.objects.get()
    for name in imports.LEAD_COLUMNS:
        assert getattr(imported, name) == getattr(api_lead, name), name


def test_batches_apply_in_file_order_like_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    monkeypatch.setattr(imports, "BATCH_ROWS", 3)
    rows = [
        ["Ana", "", "ana@x.es", "600 000 001", "", "", "Madrid", ""],
        ["", "", "bad@@x", "", "", "", "", ""],
        ["Eva", "", "eva@x.es", "", "", "", "", ""],
        ["", "Ruiz", "ANA@x.es", "", "", "", "", ""],  # next batch: merged into the lead of row 2
        ["", "", "", "600 000 001", "", "", "Sevilla", ""],  # by phone: same lead, latest city wins
        ["Eva", "Gil", "eva@x.es", "", "", "", "", ""],
        ["Leo", "", "leo@x.es", "", "", "", "", ""],
        ["Ana", "", "ana@acme.es", "", "", "", "", ""],  # business domains: companies' stats per batch
        ["Leo", "", "leo@acme.es", "", "", "", "", ""],
    ]
    path = _csv(tmp_path / "g.csv", HEADER, rows)
    progress: list[int] = []
    job = imports.create_job_for_file(path=path, mapping=None, default_region="ES")
    summary = imports.run_import(job_id=job.pk, progress=lambda done, total: progress.append(done))
    assert (summary.rows, summary.created, summary.merged, summary.rejected) == (9, 5, 3, 1)
    assert progress == [2, 6, 9]  # a small first batch, then BATCH_ROWS (whole chunks)
    ana = Lead.objects.get(email="ana@x.es")
    assert (ana.first_name, ana.last_name, ana.city, ana.phone) == ("Ana", "Ruiz", "Sevilla", "+34600000001")
    assert Lead.objects.get(email="eva@x.es").last_name == "Gil" and Lead.objects.count() == 5
    subs = list(Submission.objects.filter(channel="import").order_by("context__row"))
    assert [s.lead_id for s in subs][:7] == [ana.pk, None, subs[2].lead_id, ana.pk, ana.pk, subs[2].lead_id,
                                             subs[6].lead_id]  # fmt: skip
    leads_services.drain_company_stats()  # the periodic job: the bulk statements queued the company
    acme = Company.objects.get(domain="acme.es")
    assert acme.lead_count == 2 and acme.last_lead_at == Lead.objects.get(email="leo@acme.es").created_at
    report = capture_selectors.reconcile()
    assert report.received == 9 and report.unexplained == 0


def test_a_failed_import_resumes_after_the_last_committed_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)
    rows = [[f"P{i}", "", f"p{i}@x.es", "", "", "", "", ""] for i in range(5)] + [["", "", "bad@@", "", "", "", "", ""]]
    path = _csv(tmp_path / "h.csv", HEADER, rows)
    job = imports.create_job_for_file(path=path, mapping=None)
    real_apply = imports._apply
    calls = {"n": 0}

    def crash_on_second_batch(*args: Any) -> tuple[int, int, int]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real_apply(*args)

    monkeypatch.setattr(imports, "_apply", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        imports.run_import(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count) == ("failed", 2, 2)
    assert Submission.objects.count() == 2
    summary = imports.run_import(job_id=job.pk)
    assert (summary.rows, summary.created, summary.merged, summary.rejected) == (6, 5, 0, 1)
    assert Submission.objects.count() == 6 and Lead.objects.count() == 5
    assert capture_selectors.reconcile().unexplained == 0
    lines = Path(summary.report_path).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("row,field") and [line.split(",")[0] for line in lines[1:]] == ["7"]


@pytest.mark.parametrize(
    "raw, region",
    [("612 34 56 78", "ES"), ("+39 06 1234 5678", None), ("0034 600 123 456", None), ("+52 1 55 1234 5678", None),
     ("(212) 555-0100 ext 12", "US"), ("+44 20 7946 0958", None), ("12", "ES"), ("600 111 222", None),
     ("+800 1234 5678", None), ("abc", "ES"), ("+1 800 555 0100", None)],
)  # fmt: skip
def test_phone_with_facts_matches_normalize_phone_and_enrich(raw: str, region: str | None) -> None:
    try:
        e164, error = normalize.normalize_phone(raw, region), ""
    except normalize.NormalizationError as exc:
        e164, error = "", str(exc)
    facts = (enrich.country_from_phone(e164), enrich.time_zone_from_phone(e164)) if e164 else ("", "")
    assert imports._phone_with_facts(raw, region) == (e164, error, *facts)


def test_a_lead_stored_meanwhile_by_another_channel_turns_into_a_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _csv(tmp_path / "i.csv", HEADER, [["Rita", "Gil", "rita@x.es", "", "", "", "Lugo", ""],
                                             ["Tom", "", "tom@x.es", "", "", "", "", ""]])  # fmt: skip
    real = imports._first_or_last
    stored: list[Lead] = []

    def store_after_matching(column: str) -> str:
        if not stored:  # runs once the groups are matched, before the new leads are inserted
            stored.append(_existing(first_name="", email="rita@x.es", city="Vigo"))
        return real(column)

    monkeypatch.setattr(imports, "_first_or_last", store_after_matching)
    summary = _run(path)
    assert (summary.created, summary.merged) == (1, 1) and Lead.objects.count() == 2
    rita = Lead.objects.get(email="rita@x.es")
    assert rita.pk == stored[0].pk and (rita.first_name, rita.city) == ("Rita", "Lugo")
    assert Submission.objects.get(context__row=2).lead_id == rita.pk
