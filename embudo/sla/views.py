"""The SLA dashboard (speed-to-lead, compliance, clocks about to breach) and the policy editor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import Team, User
from embudo.core import clock, condition_rows
from embudo.core.exceptions import DomainError
from embudo.leads import condition_fields
from embudo.sla import selectors, services
from embudo.sla.forms import DashboardFilterForm, HolidayForm, PolicyForm
from embudo.sla.models import ClockStatus, SlaClock, SlaPolicy

SPAN_LABELS: dict[str, Any] = {
    "assigned": gettext_lazy("Received → assigned"),
    "notified": gettext_lazy("Received → owner notified"),
    "first_touch": gettext_lazy("Received → first touch"),
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _viewer(request: HttpRequest) -> User:
    user = _user(request)
    if not selectors.can_view_dashboard(user):
        raise PermissionDenied
    return user


def _manager(request: HttpRequest) -> User:
    user = _user(request)
    if not selectors.can_manage_policies(user):
        raise PermissionDenied
    return user


def _teams_of(user: User) -> list[Team]:
    scope = selectors.scoped_team_ids(user)
    teams = accounts_selectors.list_teams()
    return list(teams if scope is None else teams.filter(pk__in=scope))


def duration(seconds: float | None) -> str:
    """A short human duration: 42 s, 7 min, 3.5 h, 2 d."""
    if seconds is None:
        return "—"
    if seconds < 120:
        return _("%(n)s s") % {"n": round(seconds)}
    if seconds < 120 * 60:
        return _("%(n)s min") % {"n": round(seconds / 60)}
    if seconds < 48 * 3600:
        return _("%(n)s h") % {"n": round(seconds / 3600, 1)}
    return _("%(n)s d") % {"n": round(seconds / 86400, 1)}


@dataclass(frozen=True)
class Bar:
    label: str
    leads: int
    count: int
    p50: str
    p95: str
    p50_pct: float
    p95_pct: float


@dataclass(frozen=True)
class Chart:
    span: str
    title: Any
    total_p50: str
    total_p95: str
    total_count: int
    bars: list[Bar]


def _charts(rows: list[selectors.SpeedRow]) -> list[Chart]:
    total = rows[0] if rows and rows[0].key == "all" else None
    groups = [r for r in rows if r.key != "all"][:15]
    charts = []
    for span, title in SPAN_LABELS.items():
        top = max((g.spans[span].p95_seconds or 0 for g in groups), default=0) or 1
        bars = [
            Bar(label=g.label, leads=g.leads, count=g.spans[span].count, p50=duration(g.spans[span].p50_seconds),
                p95=duration(g.spans[span].p95_seconds),
                p50_pct=round(100 * (g.spans[span].p50_seconds or 0) / top, 1),
                p95_pct=round(100 * (g.spans[span].p95_seconds or 0) / top, 1))
            for g in groups
        ]  # fmt: skip
        stats = total.spans[span] if total else None
        charts.append(Chart(span=span, title=title, bars=bars, total_count=stats.count if stats else 0,
                            total_p50=duration(stats.p50_seconds if stats else None),
                            total_p95=duration(stats.p95_seconds if stats else None)))  # fmt: skip
    return charts


@dataclass(frozen=True)
class ClockRow:
    clock: SlaClock
    seconds_left: int
    overdue: bool
    left: str


def _clock_rows(clocks: list[SlaClock], now: datetime) -> list[ClockRow]:
    rows = []
    for c in clocks:
        left = int((c.due_at - now).total_seconds())
        rows.append(ClockRow(clock=c, seconds_left=left, overdue=left <= 0, left=duration(abs(left))))
    return rows


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = _viewer(request)
    now = clock.now()
    teams = _teams_of(user)
    scope = selectors.scoped_team_ids(user)
    sources = selectors.list_sources(since=now - timedelta(days=90), team_ids=scope)
    form = DashboardFilterForm(request.GET or None, teams=teams, sources=sources)
    data = form.cleaned_data if form.is_valid() else {}
    days = int(data.get("period") or 30)
    team_id = data.get("team")
    group: selectors.GroupBy = data.get("group") or "team"
    team_ids = [team_id] if team_id is not None else scope
    since = now - timedelta(days=days)
    rows = selectors.speed_to_lead(since=since, until=now, group_by=group, team_ids=team_ids,
                                   source=data.get("source") or "")  # fmt: skip
    visible = selectors.list_clocks_visible_to
    context = {
        "form": form,
        "days": days,
        "charts": _charts(rows),
        "leads_received": rows[0].leads if rows else 0,
        "compliance": selectors.compliance(since=since, until=now, team_ids=team_ids),
        "open_clocks": _clock_rows(visible(user, status=ClockStatus.OPEN, team_id=team_id, limit=25), now),
        "breaches": _clock_rows(visible(user, status=ClockStatus.BREACHED, team_id=team_id, limit=10), now),
        "can_manage": selectors.can_manage_policies(user),
        "now": now,
    }
    return render(request, "sla/dashboard.html", context)


@login_required
def policies(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    holiday_form = HolidayForm(request.POST or None, teams=_teams_of(user))
    if request.method == "POST" and holiday_form.is_valid():
        try:
            services.add_holiday(actor=user, day=holiday_form.cleaned_data["date"],
                                 name=holiday_form.cleaned_data["name"],
                                 team_id=holiday_form.cleaned_data["team_id"])  # fmt: skip
        except DomainError as exc:
            holiday_form.add_service_errors(exc.fields)
        else:
            messages.success(request, _("Holiday added."))
            return redirect("sla:policies")
    context = {
        "policies": selectors.list_policies(),
        "holidays": selectors.list_holidays(),
        "holiday_form": holiday_form,
    }
    return render(request, "sla/policies.html", context)


def _policy_form(request: HttpRequest, user: User, policy: SlaPolicy | None) -> HttpResponse:
    initial: dict[str, Any] = {}
    if policy is not None:
        initial = {name: getattr(policy, name) for name in
                   ("name", "team_id", "trigger", "target_minutes", "remind_before_minutes", "business_hours",
                    "escalate", "reassign", "active")}  # fmt: skip
    form = PolicyForm(request.POST or None, initial=initial, teams=_teams_of(user))
    conditions = (
        condition_rows.conditions_from_post(request.POST)
        if request.method == "POST"
        else list(policy.conditions or [])
        if policy is not None
        else []
    )
    condition_errors: dict[str, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_policy(actor=user, data={**form.cleaned_data, "conditions": conditions},
                                         policy_id=policy.pk if policy else None)  # fmt: skip
        except DomainError as exc:
            form.add_service_errors(exc.fields)
            condition_errors = {k: v for k, v in exc.fields.items() if k.startswith("conditions")}
        else:
            messages.success(request, _("Policy “%(name)s” saved.") % {"name": saved.name})
            return redirect("sla:policies")
    context = {
        "form": form,
        "policy": policy,
        "condition_rows": condition_rows.condition_rows(conditions),
        "field_choices": condition_fields.choices(),
        "operator_choices": condition_rows.operator_choices(),
        "errors": condition_errors,
        "legend": _("Applies to leads where (all must hold; empty: every lead)"),
    }
    return render(request, "sla/policy_form.html", context)


@login_required
def policy_create(request: HttpRequest) -> HttpResponse:
    return _policy_form(request, _manager(request), None)


@login_required
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    user = _manager(request)
    policy = selectors.get_policy(policy_id)
    if policy is None:
        raise Http404
    return _policy_form(request, user, policy)


@login_required
@require_POST
def policy_delete(request: HttpRequest, policy_id: int) -> HttpResponse:
    try:
        services.delete_policy(actor=_manager(request), policy_id=policy_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Policy deleted."))
    return redirect("sla:policies")


@login_required
@require_POST
def holiday_delete(request: HttpRequest, holiday_id: int) -> HttpResponse:
    services.delete_holiday(actor=_manager(request), holiday_id=holiday_id)
    messages.success(request, _("Holiday removed."))
    return redirect("sla:policies")
