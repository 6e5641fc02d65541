"""Routing UI: rule sets (draft editor, preview, publish), pools and members, reps' hours and absences,
and the lead page's routing panel with manual assignment.

Interfaces only: parse → one routing service/selector → render. Errors are the services' field errors.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.core import clock
from embudo.core.exceptions import DomainError
from embudo.leads import selectors as leads_selectors
from embudo.leads.models import Lead
from embudo.routing import forms, selectors, services
from embudo.routing.domain import eligibility
from embudo.routing.models import ActionKind, Fallback, OutOfOffice, PoolStrategy, RepSchedule, RuleSet, RuleSetStatus

SKIP_LABELS: dict[str, Any] = {
    "chosen": gettext_lazy("Chosen"),
    "eligible": gettext_lazy("Eligible, not next in turn"),
    eligibility.INACTIVE_USER: gettext_lazy("Skipped: user deactivated"),
    eligibility.INACTIVE_MEMBER: gettext_lazy("Skipped: paused in this pool"),
    eligibility.EXCLUDED: gettext_lazy("Skipped: excluded (current owner)"),
    eligibility.OUT_OF_OFFICE: gettext_lazy("Skipped: out of office"),
    eligibility.OFF_SHIFT: gettext_lazy("Skipped: outside working hours"),
    eligibility.MISSING_SKILL: gettext_lazy("Skipped: lacks a required skill"),
    eligibility.MISSING_LANGUAGE: gettext_lazy("Skipped: does not speak the lead's language"),
    eligibility.AT_CAPACITY: gettext_lazy("Skipped: at capacity"),
}
ZONE_SUGGESTIONS = ["UTC", "Europe/Madrid", "Europe/Lisbon", "Europe/London", "America/Mexico_City",
                    "America/Bogota", "America/Argentina/Buenos_Aires", "America/New_York"]  # fmt: skip


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _configurer(request: HttpRequest) -> User:
    user = _user(request)
    if not services.can_configure(user):
        raise PermissionDenied
    return user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _candidates(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**c, "label": SKIP_LABELS.get(c.get("status", ""), c.get("status", ""))} for c in raw]


def _lookups() -> dict[str, Any]:
    return {
        "users": list(selectors.assignable_users()),
        "pools": selectors.list_pools(),
        "teams": list(accounts_selectors.list_teams()),
        "field_choices": selectors.field_choices(),
        "operator_choices": forms.operator_choices(),
        "action_choices": ActionKind.choices,
    }


# --- rule sets -------------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    _configurer(request)
    rule_sets = selectors.list_rule_sets()
    context = {
        "published": [r for r in rule_sets if r.status == RuleSetStatus.PUBLISHED],
        "drafts": [r for r in rule_sets if r.status == RuleSetStatus.DRAFT],
        "archived": [r for r in rule_sets if r.status == RuleSetStatus.ARCHIVED][:10],
        "pools": selectors.list_pools(),
        "teams": list(accounts_selectors.list_teams()),
    }
    return render(request, "routing/home.html", context)


@login_required
@require_POST
def rule_set_create(request: HttpRequest) -> HttpResponse:
    actor = _configurer(request)
    team = request.POST.get("team_id", "")
    try:
        rule_set = services.create_rule_set(actor=actor, team_id=int(team) if team.isdigit() else None,
                                            name=request.POST.get("name", ""))  # fmt: skip
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("routing:home")
    return redirect("routing:rule_set", rule_set_id=rule_set.pk)


@login_required
@require_POST
def rule_set_copy(request: HttpRequest, rule_set_id: int) -> HttpResponse:
    try:
        draft = services.create_draft(actor=_configurer(request), rule_set_id=rule_set_id)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("routing:home")
    messages.success(request, _("Draft created: edit it, test it, then publish it."))
    return redirect("routing:rule_set", rule_set_id=draft.pk)


def _rule_set_or_404(rule_set_id: int) -> RuleSet:
    rule_set = selectors.get_rule_set(rule_set_id)
    if rule_set is None:
        raise Http404
    return rule_set


def _rules_context(rule_set: RuleSet, **extra: Any) -> dict[str, Any]:
    rules = selectors.rules_of(rule_set)
    labels = dict(selectors.field_choices())
    ops = dict(forms.operator_choices())
    shown = [
        {"rule": r, "index": i, "conditions": [
            {"field": labels.get(c.get("field"), c.get("field")), "op": ops.get(c.get("op"), c.get("op")),
             "value": forms.value_to_text(c.get("value"))} for c in (r.conditions or [])]}
        for i, r in enumerate(rules)
    ]  # fmt: skip
    return {"rule_set": rule_set, "rules": shown, "editable": rule_set.status == RuleSetStatus.DRAFT, **extra}


@login_required
def rule_set_detail(request: HttpRequest, rule_set_id: int) -> HttpResponse:
    _configurer(request)
    rule_set = _rule_set_or_404(rule_set_id)
    context = _rules_context(rule_set, **_lookups(), settings_errors={})
    return render(request, "routing/rule_set.html", context)


@login_required
@require_POST
def rule_set_settings(request: HttpRequest, rule_set_id: int) -> HttpResponse:
    actor = _configurer(request)
    post = request.POST
    data: dict[str, Any] = {"name": post.get("name", ""), "default_action": post.get("default_action", "")}
    for key in ("default_user_id", "default_pool_id", "default_team_id"):
        data[key] = post.get(key) or None
    try:
        services.update_draft(actor=actor, rule_set_id=rule_set_id, data=data)
    except DomainError as exc:
        rule_set = _rule_set_or_404(rule_set_id)
        context = _rules_context(rule_set, **_lookups(), settings_errors=exc.fields, settings_message=exc.message)
        return render(request, "routing/rule_set.html", context, status=422 if not _is_htmx(request) else 200)
    messages.success(request, _("Rule set saved."))
    return redirect("routing:rule_set", rule_set_id=rule_set_id)


@login_required
def rule_form(request: HttpRequest, rule_set_id: int, index: int | None = None) -> HttpResponse:
    """The add/edit form of one rule (a fragment for htmx, a page otherwise)."""
    _configurer(request)
    rule_set = _rule_set_or_404(rule_set_id)
    rules = selectors.rules_of(rule_set)
    if index is not None and not 0 <= index < len(rules):
        raise Http404
    current = forms.rule_to_dict(rules[index]) if index is not None else {
        "name": "", "conditions": [], "action": ActionKind.ASSIGN_POOL, "user_id": None, "pool_id": None,
        "team_id": None, "active": True}  # fmt: skip
    return _render_rule_form(request, rule_set, index, current, {})


def _render_rule_form(
    request: HttpRequest, rule_set: RuleSet, index: int | None, rule: dict[str, Any], errors: dict[str, list[str]]
) -> HttpResponse:
    context = {"rule_set": rule_set, "index": index, "rule": rule, "errors": errors,
               "condition_rows": forms.condition_rows(rule["conditions"]), **_lookups()}  # fmt: skip
    template = "routing/partials/_rule_form.html" if _is_htmx(request) else "routing/rule_form_page.html"
    return render(request, template, context)


@login_required
@require_POST
def rule_change(request: HttpRequest, rule_set_id: int) -> HttpResponse:
    """One edit of a draft's ordered rules: ``op`` = save (index empty: add) / delete / up / down."""
    actor = _configurer(request)
    rule_set = _rule_set_or_404(rule_set_id)
    rules = [forms.rule_to_dict(r) for r in selectors.rules_of(rule_set)]
    op = request.POST.get("op", "save")
    raw_index = request.POST.get("index", "")
    index = int(raw_index) if raw_index.isdigit() and int(raw_index) < len(rules) else None
    edited: dict[str, Any] | None = None
    if op == "save":
        edited = forms.rule_from_post(request.POST)
        if index is None:
            rules.append(edited)
        else:
            rules[index] = edited
    elif index is None:
        raise Http404
    elif op == "delete":
        rules.pop(index)
    elif op == "up" and index > 0:
        rules[index - 1], rules[index] = rules[index], rules[index - 1]
    elif op == "down" and index < len(rules) - 1:
        rules[index + 1], rules[index] = rules[index], rules[index + 1]
    try:
        rule_set = services.update_draft(actor=actor, rule_set_id=rule_set.pk, data={"rules": rules})
    except DomainError as exc:
        if edited is not None:
            position = len(rules) - 1 if index is None else index
            response = _render_rule_form(request, rule_set, index, edited, forms.rule_errors(exc.fields, position)
                                         or {"": [exc.message]})  # fmt: skip
            if _is_htmx(request):
                response["HX-Retarget"] = "#rule-editor"
                response["HX-Reswap"] = "innerHTML"
            return response
        messages.error(request, exc.message)
        return redirect("routing:rule_set", rule_set_id=rule_set.pk)
    if _is_htmx(request):
        return render(request, "routing/partials/_rules.html", _rules_context(rule_set))
    return redirect("routing:rule_set", rule_set_id=rule_set.pk)


@login_required
@require_POST
def rule_set_publish(request: HttpRequest, rule_set_id: int) -> HttpResponse:
    try:
        services.publish_rule_set(actor=_configurer(request), rule_set_id=rule_set_id)
    except DomainError as exc:
        messages.error(request, " ".join([exc.message, *[" ".join(v) for v in exc.fields.values()]]))
        return redirect("routing:rule_set", rule_set_id=rule_set_id)
    messages.success(request, _("Rule set published: new leads are routed by it."))
    return redirect("routing:home")


@login_required
@require_POST
def rule_set_delete(request: HttpRequest, rule_set_id: int) -> HttpResponse:
    try:
        services.delete_draft(actor=_configurer(request), rule_set_id=rule_set_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Draft deleted."))
    return redirect("routing:home")


@login_required
def rule_set_preview(request: HttpRequest, rule_set_id: int) -> HttpResponse:
    """ "Test this rule set on a lead": a lead id, or a search (name, email, company) that picks the first."""
    actor = _configurer(request)
    rule_set = _rule_set_or_404(rule_set_id)
    query = (request.POST.get("lead") or request.GET.get("lead") or "").strip()
    context: dict[str, Any] = {"rule_set": rule_set, "query": query}
    lead = _find_lead(actor, query) if query else None
    if query and lead is None:
        context["error"] = _("No lead you can see matches “%(query)s”.") % {"query": query}
    elif lead is not None:
        try:
            result = services.preview(lead_id=lead.pk, rule_set_id=rule_set.pk)
        except DomainError as exc:
            context["error"] = exc.message
        else:
            context.update(
                lead=lead, preview=result, candidates=_candidates([c.as_dict() for c in result.decision.candidates])
            )
    template = "routing/partials/_preview.html" if _is_htmx(request) else "routing/preview_page.html"
    return render(request, template, context)


def _find_lead(actor: User, query: str) -> Lead | None:
    digits = query.lstrip("#")
    if digits.isdigit():
        return leads_selectors.get_lead_visible_to(actor, int(digits))
    page = leads_selectors.list_leads_visible_to(actor, filters=leads_selectors.LeadFilters(search=query), limit=1)
    return page.items[0] if page.items else None


# --- pools -----------------------------------------------------------------------------------------


def _pool_data(post: Any) -> dict[str, Any]:
    return {
        "name": post.get("name", ""),
        "team_id": post.get("team_id") or None,
        "strategy": post.get("strategy", ""),
        "required_skills": post.get("required_skills", ""),
        "match_language": post.get("match_language") == "on",
        "fallback": post.get("fallback", ""),
        "fallback_user_id": post.get("fallback_user_id") or None,
        "active": post.get("active") == "on",
    }


def _pool_context(**extra: Any) -> dict[str, Any]:
    teams, users = list(accounts_selectors.list_teams()), list(selectors.assignable_users())
    return {"strategies": PoolStrategy.choices, "fallbacks": Fallback.choices, "teams": teams, "users": users, **extra}


@login_required
def pools(request: HttpRequest) -> HttpResponse:
    actor = _configurer(request)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {"strategy": PoolStrategy.ROUND_ROBIN, "fallback": Fallback.QUEUE, "active": True}
    if request.method == "POST":
        values = _pool_data(request.POST)
        try:
            pool = services.create_pool(actor=actor, data=values)
        except DomainError as exc:
            errors = exc.fields
        else:
            messages.success(request, _("Pool created: now add its reps."))
            return redirect("routing:pool", pool_id=pool.pk)
    return render(
        request, "routing/pools.html", _pool_context(pools=selectors.list_pools(), values=values, errors=errors)
    )


def _member_rows(post: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """Rows ``m-<n>-user_id/weight/capacity/languages/skills/active/remove``; rows without a rep are skipped.
    Returns the members to keep and, per kept member, the row number (to place errors)."""
    numbers = sorted({int(k.split("-")[1]) for k in post if k.startswith("m-") and k.split("-")[1].isdigit()})
    members, rows = [], []
    for n in numbers:
        user_id = (post.get(f"m-{n}-user_id") or "").strip()
        if not user_id or post.get(f"m-{n}-remove") == "on":
            continue
        members.append({
            "user_id": user_id, "weight": post.get(f"m-{n}-weight") or 1,
            "capacity": post.get(f"m-{n}-capacity") or None, "languages": post.get(f"m-{n}-languages", ""),
            "skills": post.get(f"m-{n}-skills", ""), "active": post.get(f"m-{n}-active") == "on",
        })  # fmt: skip
        rows.append(n)
    return members, rows


@login_required
def pool_detail(request: HttpRequest, pool_id: int) -> HttpResponse:
    actor = _configurer(request)
    pool = selectors.get_pool(pool_id)
    if pool is None:
        raise Http404
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            if request.POST.get("part") == "members":
                posted, posted_rows = _member_rows(request.POST)
                try:
                    services.set_members(actor=actor, pool_id=pool.pk, members=posted)
                except DomainError as exc:
                    # members.<i>.<field> → m-<row>-<field>
                    errors = {_member_key(k, posted_rows): v for k, v in exc.fields.items()}
                    raise
            else:
                services.update_pool(actor=actor, pool_id=pool.pk, data=_pool_data(request.POST))
        except DomainError as exc:
            errors = errors or exc.fields
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Pool saved."))
            return redirect("routing:pool", pool_id=pool.pk)
    members = list(pool.members.all())
    values = {"name": pool.name, "team_id": pool.team_id, "strategy": pool.strategy,
              "required_skills": ", ".join(pool.required_skills or []), "match_language": pool.match_language,
              "fallback": pool.fallback, "fallback_user_id": pool.fallback_user_id, "active": pool.active}  # fmt: skip
    if request.method == "POST" and request.POST.get("part") != "members":
        values = _pool_data(request.POST)
    rows = [{"n": i, "m": m, "languages": ", ".join(m.languages or []), "skills": ", ".join(m.skills or [])}
            for i, m in enumerate(members)]  # fmt: skip
    rows.append({"n": len(members), "m": None, "languages": "", "skills": ""})
    return render(request, "routing/pool.html",
                  _pool_context(pool=pool, values=values, errors=errors, member_rows=rows))  # fmt: skip


def _member_key(key: str, rows: list[int]) -> str:
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "members" and parts[1].isdigit() and int(parts[1]) < len(rows):
        return f"m-{rows[int(parts[1])]}-{parts[2]}"
    return key


@login_required
@require_POST
def pool_delete(request: HttpRequest, pool_id: int) -> HttpResponse:
    try:
        services.delete_pool(actor=_configurer(request), pool_id=pool_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Pool deleted."))
    return redirect("routing:pools")


# --- reps: working hours and out of office ---------------------------------------------------------


@login_required
def reps(request: HttpRequest) -> HttpResponse:
    _configurer(request)
    users = list(selectors.assignable_users().exclude(role="marketing")[:500])
    ids = [u.pk for u in users]
    # Two set-based reads for the whole page (the routing selectors read one rep at a time).
    schedules = {s.user_id: s for s in RepSchedule.objects.filter(user_id__in=ids)}
    away: dict[int, OutOfOffice] = {}
    for period in OutOfOffice.objects.filter(user_id__in=ids, end__gt=clock.now()).order_by("start"):
        away.setdefault(period.user_id, period)
    rows = [{"user": u, "schedule": schedules.get(u.pk), "away": away.get(u.pk)} for u in users]
    return render(request, "routing/reps.html", {"rows": rows})


def _may_edit_rep(actor: User, user_id: int) -> bool:
    return actor.pk == user_id or services.can_configure(actor)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@login_required
def rep_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = _user(request)
    if not _may_edit_rep(actor, user_id):
        raise PermissionDenied
    rep = selectors.assignable_users().filter(pk=user_id).first()
    if rep is None:
        raise Http404
    schedule = selectors.schedule_of(rep.pk)
    time_zone = schedule.time_zone if schedule else "UTC"
    hours: dict[str, Any] = dict(schedule.hours) if schedule else {}
    errors: dict[str, list[str]] = {}
    ooo_form = forms.OutOfOfficeForm()
    if request.method == "POST":
        part = request.POST.get("part")
        try:
            if part == "hours":
                time_zone = request.POST.get("time_zone", "").strip()
                hours = forms.hours_from_post(request.POST)
                services.set_schedule(actor=actor, user_id=rep.pk, time_zone=time_zone, hours=hours)
            elif part == "clear":
                services.clear_schedule(actor=actor, user_id=rep.pk)
            elif part == "ooo":
                ooo_form = forms.OutOfOfficeForm(request.POST)
                if not ooo_form.is_valid():
                    raise DomainError(_("Please correct the errors below."))
                zone = _zone(time_zone)
                start = timezone.make_aware(ooo_form.cleaned_data["start"].replace(tzinfo=None), zone)
                end = timezone.make_aware(ooo_form.cleaned_data["end"].replace(tzinfo=None), zone)
                services.add_out_of_office(actor=actor, user_id=rep.pk, start=start, end=end,
                                           reason=ooo_form.cleaned_data["reason"])  # fmt: skip
            elif part == "ooo_delete":
                services.delete_out_of_office(actor=actor, out_of_office_id=int(request.POST.get("ooo_id", "0")))
        except DomainError as exc:
            errors = exc.fields
            for field_name, field_errors in exc.fields.items():
                if part == "ooo" and field_name in ooo_form.fields:
                    ooo_form.add_error(field_name, field_errors)
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("routing:rep", user_id=rep.pk)
    periods = selectors.out_of_office_of(rep.pk, current_or_future_at=clock.now())
    context = {"rep": rep, "time_zone": time_zone, "grid": forms.hours_rows(hours), "errors": errors,
               "periods": periods, "ooo_form": ooo_form, "has_schedule": schedule is not None,
               "zone_suggestions": ZONE_SUGGESTIONS}  # fmt: skip
    return render(request, "routing/rep.html", context)


# --- the lead page's panel ---------------------------------------------------------------------------


def _panel(request: HttpRequest, lead: Lead, *, form: forms.ManualAssignForm | None = None) -> HttpResponse:
    actor = _user(request)
    view = selectors.assignments_of(lead.pk, limit=20)
    can_assign = services.can_assign(actor, lead)
    if can_assign and form is None:
        form = forms.ManualAssignForm(users=list(accounts_selectors.list_users_visible_to(actor)),
                                      initial={"user_id": lead.owner_id})  # fmt: skip
    context = {
        "lead": lead,
        "latest": view.latest,
        "latest_candidates": _candidates(view.latest.candidates if view.latest else []),
        "history": view.history,
        "can_assign": can_assign,
        "form": form,
        "speed": selectors.speed_of(lead.pk),
    }
    return render(request, "routing/partials/_lead_panel.html", context)


@login_required
def lead_panel(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The routing card of the lead page (an htmx fragment): owner, why, history, manual (re)assignment."""
    actor = _user(request)
    lead = leads_selectors.get_lead_visible_to(actor, lead_id)
    if lead is None:
        raise Http404
    if request.method != "POST":
        return _panel(request, lead)
    form = forms.ManualAssignForm(request.POST, users=list(accounts_selectors.list_users_visible_to(actor)))
    if form.is_valid():
        try:
            services.assign_manually(lead_id=lead.pk, user_id=form.cleaned_data["user_id"], actor=actor,
                                     reason=form.cleaned_data["reason"])  # fmt: skip
        except DomainError as exc:
            for field_name, field_errors in exc.fields.items():
                form.add_error(field_name if field_name in form.fields else None, field_errors)
            if not exc.fields:
                form.add_error(None, exc.message)
        else:
            lead = leads_selectors.get_lead_visible_to(actor, lead_id) or lead
            if not _is_htmx(request):
                messages.success(request, _("Lead assigned."))
                return redirect("leads:detail", lead_id=lead.pk)
            response = _panel(request, lead)
            response["HX-Trigger"] = "routing-changed"
            return response
    if not _is_htmx(request):
        messages.error(request, _("Say why the lead changes hands."))
        return redirect("leads:detail", lead_id=lead.pk)
    return _panel(request, lead, form=form)
