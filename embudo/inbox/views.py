"""The rep's "call first" inbox and the manager's team view (templates + htmx)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from embudo.accounts.models import User
from embudo.core import clock
from embudo.core.exceptions import DomainError
from embudo.inbox import selectors, services
from embudo.inbox.domain import snooze as snooze_domain
from embudo.inbox.forms import DisqualifyForm, FilterForm, ReassignForm, SavedViewForm, SnoozeForm

CHANGED = "inbox-changed"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _zone(user: User) -> ZoneInfo:
    try:
        from embudo.followups import selectors as followups_selectors

        zone_of = getattr(followups_selectors, "time_zone_of", None)
        if zone_of is not None:
            return zone_of(user)
    except ImportError:  # pragma: no cover
        pass
    current = timezone.get_current_timezone()
    return current if isinstance(current, ZoneInfo) else ZoneInfo("UTC")


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(10_000, int(request.GET.get("page", "1"))))
    except ValueError:
        return 1


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    now = clock.now()
    filters = selectors.InboxFilters.from_query(request.GET)
    page = selectors.list_inbox(user, filters=filters, page=_page_number(request), now=now)
    context: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "query": filters.to_query(),
        "now": now,
        "snooze_picks": SnoozeForm.base_fields["pick"].choices,  # type: ignore[attr-defined]
    }
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "inbox-results":
        response = render(request, "inbox/partials/_results.html", context)
    else:
        context |= {
            "form": FilterForm(request.GET or None, sources=selectors.list_sources(user, now=now)),
            "counts": selectors.count_inbox(user, now=now),
            "saved_views": selectors.list_saved_views(user),
            "snoozed": selectors.list_snoozed(user, now=now, limit=20),
            "save_form": SavedViewForm(initial={"query": filters.to_query()}),
            "can_team": selectors.can_see_team_view(user),
        }
        response = render(request, "inbox/home.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _done(request: HttpRequest, message: str, *, event: str = CHANGED, to: str = "inbox:home") -> HttpResponse:
    """After an action: htmx gets 204 + an event the page listens to; a plain form post a redirect."""
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Trigger"] = event
        return response
    messages.success(request, message)
    return redirect(to)


def _form_page(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    """A dialog's form: the fragment for htmx, a whole page without JavaScript."""
    if _is_htmx(request):  # htmx swaps 2xx only: a form with errors comes back as 200
        return render(request, template, context)
    return render(request, "inbox/action.html", {**context, "fragment": template}, status=status)


def _lead_label(user: User, lead_id: int) -> str:
    from embudo.leads import selectors as leads_selectors

    lead = leads_selectors.get_lead_visible_to(user, lead_id)
    return str(lead) if lead is not None and lead.owner_id == user.pk else ""


@login_required
@require_http_methods(["GET", "POST"])
def snooze(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = _user(request)
    label = _lead_label(user, lead_id)
    if not label:
        raise PermissionDenied
    form = SnoozeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        now = clock.now()
        pick = form.cleaned_data.get("pick")
        until: datetime | None = form.cleaned_data.get("until")
        if pick:
            until = snooze_domain.until_for(pick, now, _zone(user))
        elif until is not None and timezone.is_naive(until):
            until = until.replace(tzinfo=_zone(user)).astimezone(UTC)
        try:
            services.snooze(actor=user, lead_id=lead_id, until=until)  # type: ignore[arg-type]
        except DomainError as exc:
            for field, errors in exc.fields.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            return _done(request, _("%(lead)s snoozed.") % {"lead": label})
    return _form_page(request, "inbox/partials/_snooze_form.html", {"form": form, "lead_id": lead_id,
                      "lead_label": label}, status=422 if request.method == "POST" else 200)  # fmt: skip


@login_required
@require_POST
def unsnooze(request: HttpRequest, lead_id: int) -> HttpResponse:
    services.unsnooze(actor=_user(request), lead_id=lead_id)
    return _done(request, _("The lead is back in your inbox."))


@login_required
@require_http_methods(["GET", "POST"])
def disqualify(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = _user(request)
    label = _lead_label(user, lead_id)
    if not label:
        raise PermissionDenied
    form = DisqualifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.disqualify(actor=user, lead_id=lead_id, reason=form.cleaned_data["reason"],
                                note=form.cleaned_data.get("note", ""))  # fmt: skip
        except DomainError as exc:
            form.add_error(None, exc.message)
            for field, errors in exc.fields.items():
                for error in errors:
                    if field in form.fields:
                        form.add_error(field, error)
        else:
            return _done(request, _("%(lead)s disqualified.") % {"lead": label})
    return _form_page(request, "inbox/partials/_disqualify_form.html", {"form": form, "lead_id": lead_id,
                      "lead_label": label}, status=422 if request.method == "POST" else 200)  # fmt: skip


@login_required
@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if form.is_valid():
        try:
            view = services.save_view(actor=_user(request), name=form.cleaned_data["name"],
                                      query=form.cleaned_data.get("query") or "")  # fmt: skip
        except DomainError as exc:
            messages.error(request, "; ".join(e for errors in exc.fields.values() for e in errors) or exc.message)
        else:
            messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
            return redirect(reverse("inbox:home") + (f"?{view.query}" if view.query else ""))
    else:
        messages.error(request, _("Give the view a name."))
    return redirect("inbox:home")


@login_required
@require_POST
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    try:
        services.delete_view(actor=_user(request), view_id=view_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("View deleted."))
    return redirect("inbox:home")


# -- the manager's team view ---------------------------------------------------------------------------------


def _manager(request: HttpRequest) -> User:
    user = _user(request)
    if not selectors.can_see_team_view(user):
        raise PermissionDenied
    return user


@login_required
def team(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    view = selectors.team_view(user, now=clock.now(), with_workload=False)
    template = "inbox/partials/_team.html" if _is_htmx(request) else "inbox/team.html"
    response = render(request, template, {"view": view, "now": view.now})
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
def team_workload(request: HttpRequest) -> HttpResponse:
    """The workload table, a fragment the team page loads after its urgent lists."""
    user = _manager(request)
    return render(
        request, "inbox/partials/_workload.html", {"workload": selectors.team_workload(user, now=clock.now())}
    )


@login_required
@require_POST
def reassign(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    reps = [(r.user_id, r.name) for r in selectors.list_team_reps(selectors.team_scope(user))]
    form = ReassignForm(request.POST, reps=reps)
    if not form.is_valid():
        errors = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        return _fail(request, errors or _("Some fields are not valid."))
    try:
        services.reassign(actor=user, lead_id=form.cleaned_data["lead_id"], user_id=form.cleaned_data["user_id"],
                          reason=form.cleaned_data["reason"])  # fmt: skip
    except DomainError as exc:
        return _fail(request, "; ".join(e for errors in exc.fields.values() for e in errors) or exc.message)
    return _done(request, _("Lead reassigned."), event="team-changed", to="inbox:team")


def _fail(request: HttpRequest, message: str) -> HttpResponse:
    if _is_htmx(request):
        response = HttpResponse(message, status=422)
        response["HX-Reswap"] = "none"
        response["HX-Trigger"] = json.dumps({"inbox-error": {"message": message}})
        return response
    messages.error(request, message)
    return redirect("inbox:team")
