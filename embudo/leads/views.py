from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.leads import selectors, services
from embudo.leads.exceptions import DuplicateLead, InvalidLead, OwnerNotAllowed
from embudo.leads.forms import LeadFilterForm, LeadForm, NoteForm

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _lead_form(request: HttpRequest, *, data: Any = None, initial: dict[str, Any] | None = None) -> LeadForm:
    user = _user(request)
    return LeadForm(
        data,
        initial=initial,
        owners=list(accounts_selectors.list_users_visible_to(user)),
        teams=list(accounts_selectors.list_teams()),
    )


def _filters_from(form: LeadFilterForm, user: User) -> selectors.LeadFilters:
    data = form.cleaned_data if form.is_valid() else {}
    owner = data.get("owner") or ""
    return selectors.LeadFilters(
        search=data.get("search", ""),
        lifecycle_stage=data.get("lifecycle_stage", ""),
        status=data.get("status", ""),
        grade=data.get("grade", ""),
        owner_id=user.pk if owner == "me" else None,
        unassigned=owner == "none",
        sort=data.get("sort") or selectors.DEFAULT_SORT,
    )


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = LeadFilterForm(request.GET or None)
    filters = _filters_from(form, user)
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.list_leads_visible_to(user, filters=filters, cursor=cursor, limit=PAGE_SIZE)
    except ValueError:
        page = selectors.list_leads_visible_to(user, filters=filters, limit=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "filters": filters}
    template = "leads/partials/_lead_rows.html" if request.htmx and request.GET.get("cursor") else "leads/list.html"  # type: ignore[attr-defined]
    if request.htmx and not request.GET.get("cursor") and request.htmx.target == "lead-results":  # type: ignore[attr-defined]
        template = "leads/partials/_lead_results.html"
    return render(request, template, context)


@login_required
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = selectors.get_lead_visible_to(_user(request), lead_id)
    if lead is None:
        raise Http404
    timeline = selectors.list_timeline(lead.pk)
    return render(
        request,
        "leads/detail.html",
        {"lead": lead, "timeline": timeline, "actors": selectors.actor_names(timeline), "note_form": NoteForm()},
    )


def _save(request: HttpRequest, form: LeadForm, lead_id: int | None) -> HttpResponse | None:
    if not form.is_valid():
        return None
    user = _user(request)
    data = dict(form.cleaned_data)
    try:
        if lead_id is None:
            lead = services.create_lead(actor=user, data=data, channel="manual")
            messages.success(request, _("Lead created."))
        else:
            lead = services.update_lead(actor=user, lead_id=lead_id, changes=data)
            messages.success(request, _("Lead saved."))
    except (InvalidLead, OwnerNotAllowed) as exc:
        form.add_service_errors(exc.fields)
        return None
    except DuplicateLead as exc:
        form.add_service_errors(exc.fields or {"email": [exc.message]})
        return None
    return redirect("leads:detail", lead_id=lead.pk)


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    form = _lead_form(request, data=request.POST or None)
    if request.method == "POST":
        response = _save(request, form, None)
        if response is not None:
            return response
    return render(request, "leads/form.html", {"form": form, "lead": None})


@login_required
def lead_edit(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = selectors.get_lead_visible_to(_user(request), lead_id)
    if lead is None:
        raise Http404
    initial = {name: getattr(lead, name) for name in LeadForm.base_fields}
    form = _lead_form(request, data=request.POST or None, initial=initial)
    if request.method == "POST":
        response = _save(request, form, lead.pk)
        if response is not None:
            return response
    return render(request, "leads/form.html", {"form": form, "lead": lead})


@login_required
@require_POST
def lead_add_note(request: HttpRequest, lead_id: int) -> HttpResponse:
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.add_note(actor=_user(request), lead_id=lead_id, text=form.cleaned_data["text"])
        except InvalidLead as exc:
            messages.error(request, exc.message)
    return redirect("leads:detail", lead_id=lead_id)
