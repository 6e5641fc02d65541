"""Tasks pages: "my day" (and a manager's team view), the lead page's tasks panel, task actions, rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.core import clock
from embudo.core.exceptions import DomainError
from embudo.followups import selectors, services
from embudo.followups.forms import RescheduleForm, RuleForm, TaskForm, combine
from embudo.followups.models import Task, TaskRule
from embudo.leads import selectors as leads_selectors

KIND_ICONS = {"call": "☎", "email": "✉", "meeting": "👥", "whatsapp": "💬", "follow_up": "↻", "other": "•"}
SECTION_TITLES: dict[str, Any] = {
    "overdue": gettext_lazy("Overdue"),
    "today": gettext_lazy("Today"),
    "upcoming": gettext_lazy("Next 7 days"),
    "done": gettext_lazy("Done today"),
}
SECTION_EMPTY: dict[str, Any] = {
    "overdue": gettext_lazy("Nothing overdue."),
    "today": gettext_lazy("Nothing else due today."),
    "upcoming": gettext_lazy("Nothing planned for the next 7 days."),
    "done": gettext_lazy("Nothing done yet today."),
}
DEFAULT_STAGE_LABELS: dict[str, Any] = {
    "new": gettext_lazy("New"),
    "contacted": gettext_lazy("Contacted"),
    "interested": gettext_lazy("Interested"),
    "proposal_sent": gettext_lazy("Proposal sent"),
    "won": gettext_lazy("Won"),
    "lost": gettext_lazy("Lost"),
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@dataclass(frozen=True)
class Row:
    task: Task
    icon: str
    overdue: bool
    due_local: datetime


def _rows(tasks: list[Task], now: datetime, tz: ZoneInfo) -> list[Row]:
    return [
        Row(task=t, icon=KIND_ICONS.get(t.kind, "•"), overdue=t.completed_at is None and t.due_at < now,
            due_local=t.due_at.astimezone(tz))
        for t in tasks
    ]  # fmt: skip


# -- my day ----------------------------------------------------------------------------------------------


def _day_context(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    tz = selectors.time_zone_of(user)
    now = clock.now()
    team_view = selectors.can_see_team_view(user)
    assignee: User = user
    people: list[User] = []
    if team_view:
        people = list(selectors.assignees_visible_to(user))
        wanted = request.GET.get("assignee") or request.POST.get("assignee") or ""
        if wanted.isdigit():
            found = next((u for u in people if u.pk == int(wanted)), None)
            if found is None:
                raise Http404
            assignee = found
    expand = request.GET.get("all", "")
    limits = {expand: selectors.EXPANDED_LIMIT} if expand in selectors.DAY_LIMITS else None
    day = selectors.my_day([assignee.pk], now=now, tz=tz, limits=limits)
    sections = [
        {"key": s.key, "title": SECTION_TITLES[s.key], "empty": SECTION_EMPTY[s.key], "rows": _rows(s.tasks, now, tz),
         "total": s.total, "more": s.more}
        for s in day.sections
    ]  # fmt: skip
    context: dict[str, Any] = {
        "day": day, "sections": sections, "now": now, "tz": tz, "assignee": assignee, "is_me": assignee.pk == user.pk,
        "team_view": team_view, "people": people, "expanded": expand,
        "can_manage_rules": selectors.can_manage_rules(user),
    }  # fmt: skip
    if team_view and request.GET.get("view") == "team":
        counts = selectors.count_open_and_overdue_by_assignee([u.pk for u in people], now=now)
        context["team"] = [{"user": u, "open": counts[u.pk][0], "overdue": counts[u.pk][1]} for u in people]
    return context


@login_required
def my_day(request: HttpRequest) -> HttpResponse:
    """Overdue, today, the next 7 days and done today, for me (or, for a manager, one of their people)."""
    context = _day_context(request)
    with timezone.override(context["tz"]):
        return render(request, "followups/my_day.html", context)


def _render_day_body(request: HttpRequest, status: str = "") -> HttpResponse:
    context = _day_context(request)
    context["status_message"] = status
    with timezone.override(context["tz"]):
        response = render(request, "followups/partials/_day_body.html", context)
    response["HX-Trigger"] = "tasks-changed"
    return response


# -- the lead page's panel ----------------------------------------------------------------------------------


def _panel_context(request: HttpRequest, lead: Any, form: TaskForm | None = None) -> dict[str, Any]:
    user = _user(request)
    tz = selectors.time_zone_of(user)
    now = clock.now()
    assignees = selectors.assignees_visible_to(user) if user.role != "sales_rep" else []
    return {
        "lead": lead, "tz": tz, "now": now,
        "open_rows": _rows(selectors.open_tasks_of_lead(lead.pk), now, tz),
        "done_rows": _rows(selectors.done_tasks_of_lead(lead.pk), now, tz),
        "form": form or TaskForm(assignees=assignees, auto_id="id_task_%s",
                                 initial={"due_date": now.astimezone(tz).date() + timedelta(days=1)}),
    }  # fmt: skip


def _render_panel(request: HttpRequest, lead: Any, *, form: TaskForm | None = None, status: str = "",
                  changed: bool = False, http_status: int = 200) -> HttpResponse:  # fmt: skip
    context = _panel_context(request, lead, form)
    context["status_message"] = status
    with timezone.override(context["tz"]):
        response = render(request, "followups/partials/_lead_panel.html", context, status=http_status)
    if changed:
        response["HX-Trigger"] = "tasks-changed"
    return response


@login_required
def lead_panel(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The tasks card of the lead page (an htmx fragment): open tasks, recently done, and the add form."""
    user = _user(request)
    lead = leads_selectors.get_lead_visible_to(user, lead_id)
    if lead is None:
        raise Http404
    if request.method != "POST":
        return _render_panel(request, lead)
    assignees = selectors.assignees_visible_to(user) if user.role != "sales_rep" else []
    form = TaskForm(request.POST, assignees=assignees, auto_id="id_task_%s")
    if form.is_valid():
        tz = selectors.time_zone_of(user)
        data = form.cleaned_data
        try:
            task = services.create_task(
                actor=user, lead_id=lead.pk, kind=data["kind"], title=data["title"],
                due_at=form.due_at(tz, lambda pick: services.quick_due(pick, actor=user)),
                assignee_id=data.get("assignee_id"), notes=data["notes"],
                remind_minutes_before=data["remind_minutes_before"],
            )  # fmt: skip
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            status = services.past_due_warning(task.due_at) or _("Task added.")
            if not _is_htmx(request):
                messages.success(request, status)
                return redirect("leads:detail", lead_id=lead.pk)
            return _render_panel(request, lead, status=status, changed=True)
    if not _is_htmx(request):
        messages.error(request, _("The task was not added: check the form."))
        return redirect("leads:detail", lead_id=lead.pk)
    return _render_panel(request, lead, form=form)


def _form_errors(form: Any, exc: DomainError) -> None:
    aliases = {"due_at": "when"}
    for name, errors in exc.fields.items():
        target = aliases.get(name, name)
        form.add_error(target if target in form.fields else None, errors)
    if not exc.fields:
        form.add_error(None, exc.message)


# -- task actions (from my day or the lead panel) ----------------------------------------------------------


def _after_action(request: HttpRequest, task_lead_id: int, status: str) -> HttpResponse:
    """Answer an action with the fragment it came from (htmx), or go back to the page (no JavaScript)."""
    origin = request.POST.get("from", "")
    if _is_htmx(request):
        if origin == "panel":
            lead = leads_selectors.get_lead_visible_to(_user(request), task_lead_id)
            if lead is None:
                raise Http404
            return _render_panel(request, lead, status=status, changed=True)
        return _render_day_body(request, status)
    messages.success(request, status)
    if origin == "panel":
        return redirect("leads:detail", lead_id=task_lead_id)
    target = reverse("followups:my_day")
    assignee = request.POST.get("assignee", "")
    return redirect(f"{target}?assignee={assignee}" if assignee.isdigit() else target)


def _action(request: HttpRequest, task_id: int, run: Any, status: str) -> HttpResponse:
    user = _user(request)
    task = selectors.get_task_visible_to(user, task_id)
    if task is None:
        raise Http404
    try:
        run(user)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        return _after_action(request, task.lead_id, exc.message)
    return _after_action(request, task.lead_id, status)


@login_required
@require_POST
def complete(request: HttpRequest, task_id: int) -> HttpResponse:
    return _action(request, task_id, lambda u: services.complete_task(actor=u, task_id=task_id), _("Task done."))


@login_required
@require_POST
def reopen(request: HttpRequest, task_id: int) -> HttpResponse:
    return _action(request, task_id, lambda u: services.reopen_task(actor=u, task_id=task_id), _("Task reopened."))


@login_required
@require_POST
def delete(request: HttpRequest, task_id: int) -> HttpResponse:
    return _action(request, task_id, lambda u: services.delete_task(actor=u, task_id=task_id), _("Task deleted."))


@login_required
@require_POST
def snooze(request: HttpRequest, task_id: int) -> HttpResponse:
    option = request.POST.get("option", "")
    if option == "pick":
        form = RescheduleForm(request.POST)
        if not form.is_valid():
            user = _user(request)
            task = selectors.get_task_visible_to(user, task_id)
            if task is None:
                raise Http404
            return _after_action(request, task.lead_id, _("Pick a date and a time to reschedule."))
        due = combine(
            form.cleaned_data["due_date"], form.cleaned_data["due_time"], selectors.time_zone_of(_user(request))
        )
        return _action(request, task_id, lambda u: services.update_task(actor=u, task_id=task_id, due_at=due),
                       _("Task rescheduled."))  # fmt: skip
    return _action(request, task_id, lambda u: services.snooze_task(actor=u, task_id=task_id, option=option),
                   _("Task rescheduled."))  # fmt: skip


# -- rules ------------------------------------------------------------------------------------------------


def _rule_manager(request: HttpRequest) -> User:
    user = _user(request)
    if not selectors.can_manage_rules(user):
        raise PermissionDenied
    return user


def _stage_choices(user: User) -> list[tuple[str, str]]:
    choices: dict[str, str] = {}
    try:
        from embudo.pipeline import selectors as pipeline_selectors

        team_ids: list[int | None] = [None, *accounts_selectors.team_ids_of(user)]
        for team_id in team_ids:
            for stage in pipeline_selectors.list_stages(team_id):
                choices.setdefault(stage.key, pipeline_selectors.stage_label(stage))
    except (ImportError, AttributeError):  # pragma: no cover - the pipeline app changed its surface
        pass
    if not choices:
        choices = {k: str(v) for k, v in DEFAULT_STAGE_LABELS.items()}
    return list(choices.items())


def _rule_form(request: HttpRequest, user: User, data: Any = None, initial: dict[str, Any] | None = None) -> RuleForm:
    teams = list(accounts_selectors.list_teams())
    if user.role != "admin":
        teams = [t for t in teams if t.pk in accounts_selectors.team_ids_of(user)]
    return RuleForm(data, initial=initial, teams=teams, stages=_stage_choices(user),
                    allow_every_team=user.role == "admin")  # fmt: skip


@login_required
def rules(request: HttpRequest) -> HttpResponse:
    user = _rule_manager(request)
    stage_labels = dict(_stage_choices(user))
    rows = [{"rule": r, "stage": stage_labels.get(r.stage_key, r.stage_key), "icon": KIND_ICONS.get(r.kind, "•")}
            for r in selectors.list_rules_visible_to(user)]  # fmt: skip
    return render(request, "followups/rules.html", {"rows": rows})


def _save_rule(request: HttpRequest, rule: TaskRule | None) -> HttpResponse:
    user = _rule_manager(request)
    initial = None
    if rule is not None:
        initial = {"title": rule.title, "kind": rule.kind, "stage_key": rule.stage_key, "delay_days": rule.delay_days,
                   "delay_hours": rule.delay_hours, "team_id": rule.team_id, "active": rule.active}  # fmt: skip
    form = _rule_form(request, user, request.POST or None, initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_rule(actor=user, data=dict(form.cleaned_data), rule_id=rule.pk if rule else None)
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Task rule saved."))
            return redirect("followups:rules")
    status = 422 if request.method == "POST" else 200
    return render(request, "followups/rule_form.html", {"form": form, "rule": rule}, status=status)


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    return _save_rule(request, None)


@login_required
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    user = _rule_manager(request)
    rule = next((r for r in selectors.list_rules_visible_to(user) if r.pk == rule_id), None)
    if rule is None:
        raise Http404
    if rule.team_id is None and user.role != "admin":
        raise PermissionDenied
    return _save_rule(request, rule)


@login_required
@require_POST
def rule_toggle(request: HttpRequest, rule_id: int) -> HttpResponse:
    user = _rule_manager(request)
    try:
        rule = services.set_rule_active(actor=user, rule_id=rule_id, active=request.POST.get("active") == "1")
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        raise PermissionDenied from exc
    messages.success(request, _("Task rule activated.") if rule.active else _("Task rule deactivated."))
    return redirect("followups:rules")
