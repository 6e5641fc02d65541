"""The lead panel (an htmx fragment for the lead page and the inbox) and its POST endpoints.

With htmx a POST answers with the fresh panel (``HX-Trigger: interactions-changed``) or the panel with
inline field errors; without JavaScript it redirects to the lead page with a message, or renders the
panel on a page of its own with the errors (status 422).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from embudo.accounts.models import User
from embudo.core import clock
from embudo.core.exceptions import DomainError
from embudo.interactions import domain, selectors, services
from embudo.interactions.exceptions import LeadNotFound
from embudo.interactions.forms import FORMS, PanelForm
from embudo.interactions.models import DeliveryStatus, Interaction, Kind
from embudo.leads import selectors as leads_selectors
from embudo.leads.models import Lead

RECENT = 5
JUST_LOGGED = timedelta(seconds=15)
TAB_ORDER = (Kind.CALL, Kind.EMAIL, Kind.WHATSAPP, Kind.MEETING)  # most used first


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _kind(value: str | None) -> str:
    return value if value in domain.KINDS else Kind.CALL


@dataclass(frozen=True)
class RecentItem:
    interaction: Interaction
    duration: str
    excerpt: str


def _lead_or_404(request: HttpRequest, lead_id: int) -> Lead:
    lead = leads_selectors.get_lead_visible_to(_user(request), lead_id)
    if lead is None:
        raise Http404
    return lead


def _recent_context(lead: Lead) -> dict[str, Any]:
    recent = [
        RecentItem(i, domain.format_duration(i.duration_seconds), domain.excerpt(i.body, 160))
        for i in selectors.list_recent(lead.pk, limit=RECENT)
    ]
    # An email on its way: the list polls itself until it is sent or failed (the forms are left alone).
    pending = any(
        item.interaction.delivery_status in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING) for item in recent
    )
    return {"lead": lead, "recent": recent, "pending": pending}


def _panel_context(
    lead: Lead, *, kind: str, compact: bool, bound: PanelForm | None = None, flash: str = ""
) -> dict[str, Any]:
    forms = {k: form_class(lead_id=lead.pk, kind=k) for k, form_class in FORMS.items()}
    if bound is not None:
        bound.describe_errors()
        forms[kind] = bound
    return {
        "lead": lead,
        "kind": kind,
        "compact": compact,
        "forms": forms,
        "tabs": [(k, Kind(k).label) for k in TAB_ORDER],
        **_recent_context(lead),
        "wa_url": domain.click_to_chat_url(lead.phone) if domain.is_e164(lead.phone) else "",
        "flash": flash,
    }


def _confirm_just_logged(context: dict[str, Any], user: User, *, keep_kind: bool) -> None:
    """A page that reloads the panel on ``interactions-changed`` (the lead page does) replaces the answer to
    the POST right away: keep its confirmation and tab when the newest interaction is the user's, seconds old."""
    recent: list[RecentItem] = context["recent"]
    if not recent:
        return
    newest = recent[0].interaction
    if newest.actor_id == user.pk and clock.now() - newest.created_at <= JUST_LOGGED:
        context["flash"] = _success_message(newest.kind)
        if not keep_kind:
            context["kind"] = newest.kind


def _render_panel(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render(request, "interactions/partials/_lead_panel.html", context, status=status)


@login_required
@require_GET
def lead_panel(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The "log an interaction" card: ``?kind=`` preselects a tab, ``?compact=1`` drops the card chrome."""
    lead = _lead_or_404(request, lead_id)
    requested = request.GET.get("kind")
    context = _panel_context(lead, kind=_kind(requested), compact=request.GET.get("compact") == "1")
    _confirm_just_logged(context, _user(request), keep_kind=requested in domain.KINDS)
    return _render_panel(request, context)


@login_required
@require_GET
def recent(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The "recent interactions" list alone (polled while an email is on its way)."""
    lead = _lead_or_404(request, lead_id)
    context = {**_recent_context(lead), "compact": request.GET.get("compact") == "1"}
    return render(request, "interactions/partials/_recent.html", context)


@login_required
@require_GET
def lead_page(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The panel on a page of its own (a link target without JavaScript)."""
    lead = _lead_or_404(request, lead_id)
    context = _panel_context(lead, kind=_kind(request.GET.get("kind")), compact=False)
    return render(request, "interactions/lead_page.html", context)


def _log(request: HttpRequest, lead: Lead, kind: str, data: dict[str, Any]) -> Interaction:
    actor = _user(request)
    if kind == Kind.CALL:
        return services.log_call(actor=actor, lead_id=lead.pk, outcome=data["outcome"],
                                 direction=data["direction"] or "outbound",
                                 duration_seconds=data["duration"], notes=data["notes"],
                                 occurred_at=data.get("occurred_at"))  # fmt: skip
    if kind == Kind.MEETING:
        return services.log_meeting(actor=actor, lead_id=lead.pk, outcome=data["outcome"], notes=data["notes"],
                                    occurred_at=data.get("occurred_at"))  # fmt: skip
    if kind == Kind.EMAIL:
        return services.send_email(actor=actor, lead_id=lead.pk, subject=data["subject"], body=data["body"])
    return services.log_whatsapp(actor=actor, lead_id=lead.pk, text=data["text"])


def _success_message(kind: str) -> str:
    messages_by_kind: dict[str, str] = {
        Kind.CALL: _("Call logged."),
        Kind.MEETING: _("Meeting logged."),
        Kind.EMAIL: _("Email queued: it is on its way."),
        Kind.WHATSAPP: _("WhatsApp message logged."),
    }
    return messages_by_kind[kind]


def _changed(response: HttpResponse, lead: Lead, kind: str) -> HttpResponse:
    response["HX-Trigger"] = json.dumps({"interactions-changed": {"lead_id": lead.pk, "kind": kind}})
    return response


@login_required
@require_POST
def log(request: HttpRequest, lead_id: int, kind: str) -> HttpResponse:
    lead = _lead_or_404(request, lead_id)
    compact = request.POST.get("compact") == "1"
    form = FORMS[kind](request.POST, lead_id=lead.pk, kind=kind)
    if form.is_valid():
        try:
            _log(request, lead, kind, form.cleaned_data)
        except LeadNotFound as exc:
            raise Http404 from exc
        except DomainError as exc:
            form.add_service_errors(exc.fields, exc.message)
        else:
            if not _is_htmx(request):
                messages.success(request, _success_message(kind))
                return redirect("leads:detail", lead_id=lead.pk)
            context = _panel_context(lead, kind=kind, compact=compact, flash=_success_message(kind))
            return _changed(_render_panel(request, context), lead, kind)
    context = _panel_context(lead, kind=kind, compact=compact, bound=form)
    if not _is_htmx(request):
        return render(request, "interactions/lead_page.html", context, status=422)
    return _render_panel(request, context)  # htmx swaps 2xx only: errors render inline


@login_required
@require_POST
def retry_email(request: HttpRequest, interaction_id: int) -> HttpResponse:
    interaction = selectors.get_interaction_visible_to(_user(request), interaction_id)
    if interaction is None:
        raise Http404
    lead = _lead_or_404(request, interaction.lead_id)
    flash = _("Email queued again.")
    try:
        services.retry_email(actor=_user(request), interaction_id=interaction.pk)
    except DomainError as exc:
        flash = exc.message
    if not _is_htmx(request):
        messages.info(request, flash)
        return redirect("leads:detail", lead_id=lead.pk)
    context = _panel_context(lead, kind=Kind.EMAIL, compact=request.POST.get("compact") == "1", flash=flash)
    return _changed(_render_panel(request, context), lead, Kind.EMAIL)
