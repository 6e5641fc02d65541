"""The duplicates review queue, the side-by-side merge screen and undo (managers, marketing, admins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from embudo.accounts.models import User
from embudo.core.exceptions import DomainError
from embudo.dedupe import selectors, services
from embudo.dedupe.domain import survivorship
from embudo.leads.models import Lead

FIELD_LABELS: dict[str, Any] = {
    "first_name": gettext_lazy("First name"), "last_name": gettext_lazy("Last name"),
    "email": gettext_lazy("Email"), "phone": gettext_lazy("Phone"), "job_title": gettext_lazy("Job title"),
    "company_name": gettext_lazy("Company name"), "street_address": gettext_lazy("Street address"),
    "address_line2": gettext_lazy("Address line 2"), "city": gettext_lazy("City"), "region": gettext_lazy("Region"),
    "postal_code": gettext_lazy("Postal code"), "country": gettext_lazy("Country"),
    "language": gettext_lazy("Language"), "time_zone": gettext_lazy("Time zone"), "source": gettext_lazy("Source"),
    "lifecycle_stage": gettext_lazy("Lifecycle stage"), "status": gettext_lazy("Status"),
    "company_id": gettext_lazy("Company"), "owner_id": gettext_lazy("Owner"), "team_id": gettext_lazy("Team"),
}  # fmt: skip
# Reasons from the matcher name fields (and a few composite features).
REASON_LABELS: dict[str, Any] = {
    **FIELD_LABELS, "given_name": gettext_lazy("First name"), "surname": gettext_lazy("Last name"),
    "company": gettext_lazy("Company"), "street": gettext_lazy("Street address"), "address": gettext_lazy("Address"),
    "names_swapped": gettext_lazy("Names swapped"), "household": gettext_lazy("Same household"),
}  # fmt: skip


def _manager(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not services.can_manage_duplicates(user):
        raise PermissionDenied
    return user


def _reasons(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "label": REASON_LABELS.get(r.get("field", ""), r.get("field", "")),
             "percent": round(100 * float(r.get("similarity", 0)))} for r in reasons]  # fmt: skip


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    queue_items = selectors.list_queue_visible_to(user)
    items = [{"item": item, "reasons": _reasons(item.candidate.reasons)} for item in queue_items]
    return render(request, "dedupe/queue.html", {"items": items, "merges": selectors.list_merges_visible_to(user)})


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: Any
    a: str
    b: str
    choice: str  # "a" | "b"
    differs: bool


def _display(lead: Lead, name: str) -> str:
    if name == "company_id":
        return lead.company.name if lead.company else ""
    if name == "owner_id":
        return lead.owner.display_name if lead.owner else ""
    if name == "team_id":
        return lead.team.name if lead.team else ""
    return str(getattr(lead, name) or "")


@login_required
def merge(request: HttpRequest, candidate_id: int) -> HttpResponse:
    user = _manager(request)
    item = selectors.get_candidate_visible_to(user, candidate_id)
    if item is None:
        raise Http404
    a, b = item.lead_a, item.lead_b
    # The older lead survives by default (its id is the one people have bookmarked and synced).
    defaults = survivorship.default_choices(services.snapshot_row(a), services.snapshot_row(b))
    if request.method == "POST":
        choices = {name: ("survivor" if request.POST.get(name, "a") == "a" else "merged")
                   for name in survivorship.MERGE_FIELDS}  # fmt: skip
        try:
            done = services.merge_candidate(actor=user, candidate_id=candidate_id, survivor_id=a.pk,
                                            field_choices=choices)  # fmt: skip
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Leads merged. You can undo this merge from the lead page."))
            return redirect("leads:detail", lead_id=done.survivor_id)
    rows = [FieldRow(name, FIELD_LABELS[name], _display(a, name), _display(b, name),
                     "b" if defaults[name] == "merged" else "a", _display(a, name) != _display(b, name))
            for name in survivorship.MERGE_FIELDS]  # fmt: skip
    return render(request, "dedupe/merge.html",
                  {"item": item, "rows": rows, "reasons": _reasons(item.candidate.reasons)})  # fmt: skip


@login_required
@require_POST
def dismiss(request: HttpRequest, candidate_id: int) -> HttpResponse:
    try:
        services.dismiss_candidate(actor=_manager(request), candidate_id=candidate_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Marked as not a duplicate."))
    return redirect("dedupe:queue")


@login_required
@require_POST
def undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    try:
        done = services.unmerge(actor=_manager(request), merge_id=merge_id)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dedupe:queue")
    messages.success(request, _("Merge undone: both leads are back as they were."))
    return redirect("leads:detail", lead_id=done.survivor_id)
