"""CSV import UI: upload → preview and column mapping → run (worker) → progress → counts and report."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from embudo.accounts import selectors as accounts_selectors
from embudo.capture import imports
from embudo.capture.models import ImportJob, ImportStatus

logger = logging.getLogger(__name__)

IMPORT_ROLES = frozenset({"admin", "marketing", "manager"})
REJECTED_SHOWN = 100
FIELD_LABELS = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "job_title": gettext_lazy("Job title"),
    "company_name": gettext_lazy("Company name"),
    "company_domain": gettext_lazy("Company website"),
    "street_address": gettext_lazy("Street address"),
    "address_line2": gettext_lazy("Address line 2"),
    "city": gettext_lazy("City"),
    "region": gettext_lazy("Region or state"),
    "postal_code": gettext_lazy("Postal code"),
    "country": gettext_lazy("Country"),
    "language": gettext_lazy("Language"),
    "whatsapp_id": gettext_lazy("WhatsApp number"),
}


def _check_role(request: HttpRequest) -> None:
    if getattr(request.user, "role", "") not in IMPORT_ROLES:
        raise PermissionDenied(_("Only admins, marketing and managers can import leads."))


def _job(job_id: int) -> ImportJob:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        raise Http404(_("Import not found."))
    return job


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"))
    source = forms.CharField(label=gettext_lazy("Source"), max_length=64, required=False,
                             help_text=gettext_lazy("Where these leads come from, e.g. fair-2026. "
                                                    "The column mapping is remembered per source."))  # fmt: skip


def _custom_key(column: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", column).strip("_")[:64] or "column"


class MappingForm(forms.Form):
    source = forms.CharField(label=gettext_lazy("Source"), max_length=64, required=False)
    default_region = forms.CharField(
        label=gettext_lazy("Default country for phone numbers"), max_length=60, required=False,
        help_text=gettext_lazy("Used for numbers without a country code, e.g. ES or España."),
    )  # fmt: skip
    team = forms.TypedChoiceField(label=gettext_lazy("Team"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, columns: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.columns = columns
        self.fields["team"].choices = [("", _("No team"))] + [(t.pk, t.name) for t in accounts_selectors.list_teams()]  # type: ignore[attr-defined]
        for index, column in enumerate(columns):
            choices = [("", _("Ignore this column"))]
            choices += [(name, str(label)) for name, label in FIELD_LABELS.items()]
            custom = f"{imports.CUSTOM_PREFIX}{_custom_key(column)}"
            choices.append((custom, _("Custom field “%(name)s”") % {"name": column}))
            self.fields[f"col_{index}"] = forms.ChoiceField(label=column, choices=choices, required=False)

    def column_fields(self) -> list[tuple[str, forms.BoundField]]:
        return [(column, self[f"col_{index}"]) for index, column in enumerate(self.columns)]

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data.get(f"col_{index}") or "" for index, column in enumerate(self.columns)}


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    _check_role(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.store_upload(
                chunks=upload.chunks(), file_name=upload.name, created_by_id=request.user.pk,
                source=form.cleaned_data["source"],
            )  # fmt: skip
        except imports.ImportError_ as exc:
            form.add_error("file", _message(exc))
        else:
            return redirect("capture_imports:detail", job_id=job.pk)
    jobs = ImportJob.objects.order_by("-created_at", "-id")[:20]
    max_mb = imports.max_upload_bytes() // (1024 * 1024)
    return render(request, "capture/imports/list.html", {"form": form, "jobs": jobs, "max_mb": max_mb})


def _message(exc: imports.ImportError_) -> str:
    messages = {
        "import_bad_file": _("This file cannot be imported: %(reason)s"),
        "import_bad_mapping": _("The column mapping is not valid: %(reason)s"),
    }
    return messages.get(exc.code, "%(reason)s") % {"reason": str(exc)}


@login_required
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    _check_role(request)
    job = _job(job_id)
    if job.status != ImportStatus.UPLOADED:
        return render(request, "capture/imports/detail.html", {"job": job, **_result_context(job)})
    try:
        preview = imports.preview(Path(job.file_path))
    except imports.ImportError_ as exc:
        return render(request, "capture/imports/detail.html", {"job": job, "file_error": _message(exc)})
    proposal = imports.propose_mapping(preview.columns, source=job.source)
    initial: dict[str, Any] = {"source": job.source}
    initial.update({f"col_{i}": proposal.get(c, "") for i, c in enumerate(preview.columns)})
    form = MappingForm(request.POST or None, columns=preview.columns, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            imports.configure_job(
                job_id=job.pk, mapping=form.mapping(), source=form.cleaned_data["source"],
                default_region=form.cleaned_data["default_region"], team_id=form.cleaned_data["team"],
            )  # fmt: skip
        except imports.ImportError_ as exc:
            for name, messages in (exc.fields or {}).items():
                target = next((f"col_{i}" for i, c in enumerate(preview.columns) if c == name), None)
                if name == "default_region":
                    target = "default_region"
                form.add_error(target, " ".join(messages))
        else:
            if getattr(settings, "IMPORT_RUN_INLINE", False):
                _run_inline(job.pk)
            else:
                imports.start_import(job_id=job.pk)
            return redirect("capture_imports:detail", job_id=job.pk)
    context = {
        "job": job, "preview": preview, "form": form, "earlier": imports.find_earlier_import(job),
        "routes": imports.routes_new_leads(job), "route_max": imports.ROUTE_IMPORTED_MAX,
    }  # fmt: skip
    return render(request, "capture/imports/detail.html", context)


def _run_inline(job_id: int) -> None:
    """Run the import in this request (``IMPORT_RUN_INLINE``, development): a failure is recorded on the job
    (status failed, its error), which the page shows with a Resume button."""
    try:
        imports.run_import(job_id=job_id)
    except Exception:
        logger.exception("Import job %s failed", job_id)


def _result_context(job: ImportJob) -> dict[str, Any]:
    percent = int(100 * job.processed_rows / job.total_rows) if job.total_rows else 0
    rejected: list[dict[str, Any]] = []
    report = imports.rejected_report_path(job.pk)
    if job.status == ImportStatus.DONE and job.rejected_count and report.exists():
        with report.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for row in reader:
                rejected.append({"row": row[0], "field": row[1], "message": row[2], "values": row[3:]})
                if len(rejected) >= REJECTED_SHOWN:
                    break
    stalled = imports.is_stalled(job)
    return {
        "percent": min(100, percent),
        "running": job.status == ImportStatus.RUNNING and not stalled,
        "applying": job.status == ImportStatus.RUNNING and job.total_rows and job.processed_rows >= job.total_rows,
        "stalled": stalled,
        "resumable": job.status == ImportStatus.FAILED or stalled,
        # Rows left: exact when the run counted the file (files of up to ROUTE_IMPORTED_MAX rows), else estimated.
        "unprocessed": max(0, job.total_rows - job.processed_rows),
        "unprocessed_exact": job.total_rows <= imports.ROUTE_IMPORTED_MAX,
        "routes": imports.routes_new_leads(job),
        "route_max": imports.ROUTE_IMPORTED_MAX,
        "rejected_rows": rejected,
        "has_report": report.exists() and job.rejected_count > 0,
    }


@login_required
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    _check_role(request)
    job = _job(job_id)
    template = "capture/imports/partials/_progress.html" if request.htmx else "capture/imports/detail.html"  # type: ignore[attr-defined]
    return render(request, template, {"job": job, **_result_context(job)})


@login_required
@require_http_methods(["POST"])
def import_resume(request: HttpRequest, job_id: int) -> HttpResponse:
    """Resume a failed or stalled import after its last saved batch."""
    _check_role(request)
    job = _job(job_id)
    inline = getattr(settings, "IMPORT_RUN_INLINE", False)
    try:
        imports.resume_import(job_id=job.pk, defer=not inline)
    except imports.ImportError_:
        messages.error(request, _("This import cannot be resumed: only a failed import, or one whose run stopped, "
                                  "can be resumed."))  # fmt: skip
    else:
        if inline:
            _run_inline(job.pk)
    return redirect("capture_imports:detail", job_id=job.pk)


@login_required
def import_rejected_csv(request: HttpRequest, job_id: int) -> FileResponse:
    _check_role(request)
    job = _job(job_id)
    report = imports.rejected_report_path(job.pk)
    if not report.exists():
        raise Http404(_("This import has no rejected rows."))
    return FileResponse(report.open("rb"), as_attachment=True, filename=f"import-{job.pk}-rejected.csv",
                        content_type="text/csv; charset=utf-8")  # fmt: skip
