from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import Language, User
from embudo.core.models import DomainEvent
from embudo.dedupe import selectors as dedupe_selectors
from embudo.dedupe import services as dedupe_services
from embudo.leads import selectors, services
from embudo.leads.exceptions import DuplicateLead, InvalidLead, LeadNotFound, OwnerNotAllowed
from embudo.leads.forms import SECTION_FORMS, LeadFilterForm, LeadForm, LeadSectionForm, NoteForm
from embudo.leads.models import Grade, Lead, LeadStatus, LifecycleStage

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 50
# What changes what the lead page shows: panels' htmx events (HX-Trigger) and this page's own edits.
REFRESH_EVENTS = ("scoring", "routing", "interactions", "pipeline", "tasks", "lead")
REFRESH_TRIGGER = ", ".join(f"{name}-changed from:body" for name in REFRESH_EVENTS)


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
        company_id=data.get("company"),
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
    without_company = query.copy()
    without_company.pop("company", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "filters": filters,
        "company": selectors.get_company(filters.company_id) if filters.company_id is not None else None,
        "query_without_company": without_company.urlencode(),
    }
    template = "leads/partials/_lead_rows.html" if request.htmx and request.GET.get("cursor") else "leads/list.html"  # type: ignore[attr-defined]
    if request.htmx and not request.GET.get("cursor") and request.htmx.target == "lead-results":  # type: ignore[attr-defined]
        template = "leads/partials/_lead_results.html"
    response = render(request, template, context)
    # The same URL answers with a page or a fragment: keep caches from mixing them up.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class TimelineEntry:
    """One timeline event, put in words for the lead page."""

    kind: str  # "created", "updated", "note" or "other"
    type: str
    occurred_at: datetime
    actor: str
    channel: str = ""
    text: str = ""
    changes: list[Change] = field(default_factory=list)
    # Events of other contexts render through their own template ``timeline/<context>/<Type>.html``
    # (e.g. ``timeline/scoring/GradeChanged.html``), given ``entry`` and ``payload``.
    partial: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@functools.cache
def _timeline_partial(event_type: str) -> str:
    """The template of another context's event type, or "" when it has none (a generic line is shown)."""
    context, _dot, name = event_type.partition(".")
    candidate = f"timeline/{context}/{name}.html"
    try:
        get_template(candidate)
    except TemplateDoesNotExist:
        return ""
    return candidate


_CHOICE_LABELS: dict[str, Any] = {
    "lifecycle_stage": LifecycleStage,
    "status": LeadStatus,
    "grade": Grade,
    "language": Language,
}


def _field_label(name: str) -> str:
    try:
        field = Lead._meta.get_field(name.removesuffix("_id"))
        return str(getattr(field, "verbose_name", name))
    except FieldDoesNotExist:  # an old event may name a field that no longer exists
        return name


def _value_text(name: str, value: Any, names: dict[str, dict[int, str]]) -> str:
    if value is None or value == "" or value == {}:
        return "—"
    if name in _CHOICE_LABELS:
        try:
            return str(_CHOICE_LABELS[name](value).label)
        except ValueError:
            return str(value)
    if name in ("owner_id", "team_id"):
        return names["users" if name == "owner_id" else "teams"].get(value, f"#{value}")
    return str(value)


def _describe(event: DomainEvent, names: dict[str, dict[int, str]]) -> TimelineEntry:
    payload = event.payload or {}
    actor = names["users"].get(event.actor_id, "") if event.actor_id else ""

    def entry(kind: str, **extra: Any) -> TimelineEntry:
        return TimelineEntry(kind=kind, type=event.type, occurred_at=event.occurred_at, actor=actor, **extra)

    partial = _timeline_partial(event.type)
    if partial:
        return entry("other", partial=partial, payload=payload)
    if event.type == "leads.LeadCreated":
        return entry("created", channel=payload.get("channel") or payload.get("source") or "")
    if event.type == "leads.LeadUpdated":
        changes = [
            Change(
                label=_field_label(name),
                before=_value_text(name, pair[0] if len(pair) > 0 else None, names),
                after=_value_text(name, pair[1] if len(pair) > 1 else None, names),
            )
            for name, pair in (payload.get("changes") or {}).items()
            if isinstance(pair, list | tuple)
        ]
        return entry("updated", changes=changes)
    if event.type == "leads.NoteAdded":
        return entry("note", text=payload.get("text", ""))
    if event.type == "capture.LeadCaptured":
        # kind "captured": ``channel`` is the channel's code, ``text`` the message (for email, the subject)
        # and ``changes`` carries labelled details (email body, source, UTM values) in ``after``.
        channel = str(payload.get("channel") or "")
        message = str((payload.get("summary") or {}).get("message") or "")
        details: list[Change] = []
        if channel == "email":
            message, _sep, body = message.partition("\n\n")
            if body:
                details.append(Change(label=_("Message"), before="", after=body))
        utm = payload.get("utm") or {}
        if payload.get("source") and payload.get("source") != channel and not utm.get("source"):
            details.append(Change(label=_("Source"), before="", after=str(payload["source"])))
        details.extend(
            Change(label=label, before="", after=str(utm[key]))
            for key, label in (("source", "utm_source"), ("medium", "utm_medium"), ("campaign", "utm_campaign"),
                               ("term", "utm_term"), ("content", "utm_content"))
            if utm.get(key)
        )  # fmt: skip
        return entry("captured", channel=channel, text=message, changes=details)
    return entry("other")


def _timeline_entries(user: User, timeline: list[DomainEvent]) -> list[TimelineEntry]:
    users = dict(selectors.actor_names(timeline))
    owner_ids: set[int] = set()
    team_ids: set[int] = set()
    for event in timeline:
        if event.type == "leads.LeadUpdated":
            changes = (event.payload or {}).get("changes") or {}
            for name, target in (("owner_id", owner_ids), ("team_id", team_ids)):
                target.update(v for v in changes.get(name) or [] if isinstance(v, int))
    missing = owner_ids - set(users)
    if missing:
        owners = accounts_selectors.list_users_visible_to(user).filter(pk__in=missing)
        users.update({u.pk: u.display_name for u in owners})
    teams = {t.pk: t.name for t in accounts_selectors.list_teams().filter(pk__in=team_ids)} if team_ids else {}
    names = {"users": users, "teams": teams}
    return [_describe(event, names) for event in timeline]


@dataclass(frozen=True)
class TimelineFilter:
    """A chip above the timeline: the event types it shows (exact ``types`` or type ``prefixes``)."""

    key: str
    label: str | Promise
    types: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    def matches(self, event_type: str) -> bool:
        return not (self.types or self.prefixes) or event_type in self.types or event_type.startswith(self.prefixes)


TIMELINE_FILTERS: tuple[TimelineFilter, ...] = (
    TimelineFilter("all", gettext_lazy("All")),
    TimelineFilter("interactions", gettext_lazy("Interactions"), prefixes=("interactions.",)),
    TimelineFilter("notes", gettext_lazy("Notes"), types=("leads.NoteAdded",)),
    TimelineFilter("stages", gettext_lazy("Stages & outcomes"),
                   types=("scoring.LifecycleChanged",), prefixes=("pipeline.",)),
    TimelineFilter("tasks", gettext_lazy("Tasks"), prefixes=("followups.",)),
    TimelineFilter("captures", gettext_lazy("Forms & captures"), prefixes=("capture.",)),
    TimelineFilter("activity", gettext_lazy("Web activity"), prefixes=("activity.",)),
    TimelineFilter("assignment", gettext_lazy("Assignment & SLAs"), prefixes=("routing.", "sla.")),
    TimelineFilter("changes", gettext_lazy("Changes"),
                   types=("leads.LeadCreated", "leads.LeadUpdated"), prefixes=("dedupe.",)),
)  # fmt: skip
_FILTERS_BY_KEY = {f.key: f for f in TIMELINE_FILTERS}


@dataclass(frozen=True)
class FilterChip:
    filter: TimelineFilter
    count: int | None
    active: bool
    query: str  # "?timeline=notes" ("" for All)


def _timeline_query(key: str, **extra: str) -> str:
    query = QueryDict(mutable=True)
    if key != "all":
        query["timeline"] = key
    for name, value in extra.items():
        query[name] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else ""


def _timeline_context(request: HttpRequest, lead: Lead, *, with_counts: bool = True) -> dict[str, Any]:
    """The timeline of ``lead`` as the request asks for it (``?timeline=<filter>&cursor=<older than>``)."""
    current = _FILTERS_BY_KEY.get(request.GET.get("timeline") or "all", TIMELINE_FILTERS[0])
    cursor = request.GET.get("cursor") or None
    arguments = {"types": current.types, "prefixes": current.prefixes, "limit": TIMELINE_PAGE_SIZE}
    try:
        page = selectors.timeline_page(lead.pk, cursor=cursor, **arguments)  # type: ignore[arg-type]
    except ValueError:  # a cursor that is not ours: start from the newest
        cursor = None
        page = selectors.timeline_page(lead.pk, **arguments)  # type: ignore[arg-type]
    chips: list[FilterChip] = []
    if with_counts:
        counts = selectors.count_timeline_types(lead.pk)
        for f in TIMELINE_FILTERS:
            n = sum(count for event_type, count in counts.items() if f.matches(event_type))
            chips.append(FilterChip(f, n, f is current, _timeline_query(f.key)))
    return {
        "timeline": _timeline_entries(_user(request), page.items),
        "timeline_filter": current,
        "timeline_chips": chips,
        "timeline_older": _timeline_query(current.key, cursor=page.next_cursor) if page.next_cursor else "",
        "timeline_paged": cursor is not None,
        "timeline_query": _timeline_query(current.key),
    }


def _visible_lead_or_404(request: HttpRequest, lead_id: int) -> Lead:
    lead = selectors.get_lead_visible_to(_user(request), lead_id)
    if lead is None:
        raise Http404
    return lead


def _page_context(request: HttpRequest, lead: Lead) -> dict[str, Any]:
    return {"lead": lead, "refresh_trigger": REFRESH_TRIGGER}


@login_required
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _visible_lead_or_404(request, lead_id)
    manages = dedupe_services.can_manage_duplicates(_user(request))
    context = {
        **_page_context(request, lead),
        **_timeline_context(request, lead),
        "note_form": NoteForm(),
        "duplicates": dedupe_selectors.list_duplicates_of(_user(request), lead.pk) if manages else [],
        "merges": dedupe_selectors.list_merges_into(lead.pk) if manages else [],
    }
    return render(request, "leads/detail.html", context)


@login_required
def lead_timeline(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The timeline card (htmx: filter chips, refresh after a panel's change) or, with ``?cursor=``, the older items
    that replace the "Load older" row. Without htmx it is the lead page itself."""
    if not request.htmx:  # type: ignore[attr-defined]
        query = request.GET.urlencode()
        return redirect(reverse("leads:detail", args=[lead_id]) + (f"?{query}" if query else ""))
    lead = _visible_lead_or_404(request, lead_id)
    older = bool(request.GET.get("cursor"))
    context = {**_page_context(request, lead), **_timeline_context(request, lead, with_counts=not older)}
    context["focus_filter"] = bool(request.GET.get("focus"))
    template = "leads/partials/_timeline_items.html" if older else "leads/partials/_timeline.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
def lead_header(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The page head (name, chips, owner, contact actions), re-fetched when a panel changes the lead."""
    lead = _visible_lead_or_404(request, lead_id)
    return render(request, "leads/partials/_header.html", _page_context(request, lead))


CARDS = ("contact", "company", "address", "record")


@login_required
def lead_card(request: HttpRequest, lead_id: int, section: str) -> HttpResponse:
    """One side card shown (after an inline edit is cancelled, or refreshed)."""
    if section not in CARDS:
        raise Http404
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("leads:detail", lead_id=lead_id)
    lead = _visible_lead_or_404(request, lead_id)
    context = {**_page_context(request, lead), "refocus": bool(request.GET.get("refocus"))}
    return render(request, f"leads/partials/_card_{section}.html", context)


def _section_form(section: str, lead: Lead, data: Any = None) -> LeadSectionForm:
    form_class = SECTION_FORMS[section]
    initial = {name: getattr(lead, name) for name in form_class.base_fields}
    return form_class(data, initial=initial, prefix=section)


@login_required
def lead_card_edit(request: HttpRequest, lead_id: int, section: str) -> HttpResponse:
    """Inline edit of a card (contact, company, address): GET gives the form in place of the card, POST saves
    through ``services.update_lead`` and answers the card again (with ``HX-Trigger: lead-changed``) or the form
    with its errors. Without htmx the GET is the full edit page and a POST ends on the lead page."""
    if section not in SECTION_FORMS:
        raise Http404
    htmx = bool(request.htmx)  # type: ignore[attr-defined]
    if request.method != "POST" and not htmx:
        return redirect("leads:edit", lead_id=lead_id)
    lead = _visible_lead_or_404(request, lead_id)
    form = _section_form(section, lead, request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {**_page_context(request, lead), "form": form, "section": section}
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.update_lead(actor=_user(request), lead_id=lead.pk, changes=form.cleaned_data)
        except LeadNotFound as exc:
            raise Http404 from exc
        except (InvalidLead, OwnerNotAllowed, DuplicateLead) as exc:
            form.add_service_errors(exc.fields or {"__all__": [exc.message]})
        else:
            if not htmx:
                messages.success(request, _("Lead saved."))
                return redirect("leads:detail", lead_id=lead.pk)
            lead = _visible_lead_or_404(request, lead.pk)
            response = render(
                request, f"leads/partials/_card_{section}.html", {**_page_context(request, lead), "refocus": True}
            )
            response["HX-Trigger"] = "lead-changed"
            return response
    template = "leads/partials/_card_form.html" if htmx else "leads/card_edit.html"
    # Errors answer 200: htmx does not swap 4xx answers by default.
    return render(request, template, context)


def _save(request: HttpRequest, form: LeadForm, lead_id: int | None) -> HttpResponse | None:
    if not form.is_valid():
        return None
    user = _user(request)
    data = dict(form.cleaned_data)
    if lead_id is None:
        # An empty owner/team means "use the default" on create (a rep owns what they create).
        data = {k: v for k, v in data.items() if not (k in ("owner_id", "team_id") and v is None)}
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
    """Add a note. With htmx the answer is the note card again (empty, or with the error) and
    ``HX-Trigger: lead-changed`` refreshes the timeline; without, a redirect to the lead page."""
    htmx = bool(request.htmx)  # type: ignore[attr-defined]
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.add_note(actor=_user(request), lead_id=lead_id, text=form.cleaned_data["text"])
        except LeadNotFound as exc:
            raise Http404 from exc
        except InvalidLead:
            form.add_error("text", _("Write a note before saving it."))
        else:
            if not htmx:
                messages.success(request, _("Note added."))
                return redirect("leads:detail", lead_id=lead_id)
            response = render(
                request,
                "leads/partials/_note_card.html",
                {"lead": _visible_lead_or_404(request, lead_id), "note_form": NoteForm(), "note_saved": True},
            )
            response["HX-Trigger"] = "lead-changed"
            return response
    if not htmx:
        messages.error(request, _("Write a note before saving it."))
        return redirect("leads:detail", lead_id=lead_id)
    lead = _visible_lead_or_404(request, lead_id)
    return render(request, "leads/partials/_note_card.html", {"lead": lead, "note_form": form})
