"""Scoring UI: model versions, the rule editor of a draft (htmx), backtest diff, publish progress, and the
lead panel (why this score, lifecycle moves, BANT).

Editing models: admins and marketing. Managers see them read-only. The lead panel follows the lead's
visibility; moves and BANT follow ``scoring.lifecycle``'s permissions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.core.domain import conditions as cond
from embudo.core.exceptions import DomainError
from embudo.leads import condition_fields
from embudo.leads import selectors as leads_selectors
from embudo.leads.models import Lead
from embudo.scoring import lifecycle, selectors, services
from embudo.scoring.domain import lifecycle as lifecycle_domain
from embudo.scoring.forms import (
    DECAY_LABELS,
    EVENT_TYPES,
    OPERATOR_LABELS,
    BantForm,
    RuleForm,
    SettingsForm,
    StageForm,
    fit_field_choices,
    operator_choices,
    value_to_text,
)
from embudo.scoring.models import Backtest, ScoringRule, ScoringVersion, VersionStatus

EDITOR_ROLES = frozenset({"admin", "marketing"})
VIEWER_ROLES = frozenset({"admin", "marketing", "manager"})


# --- Reads of the UI (on top of scoring.selectors) ------------------------------------------------------


def get_version(version_id: int) -> ScoringVersion | None:
    return selectors.get_version(version_id)


def list_rules(version: ScoringVersion) -> list[ScoringRule]:
    """The version's rules in editor order (``selectors.get_version`` prefetches them)."""
    return sorted(version.rules.all(), key=lambda rule: (rule.position, rule.pk))


def get_rule(version: ScoringVersion, rule_key: uuid.UUID) -> ScoringRule | None:
    """By key: keys are stable, ids are not (saving a draft rewrites its rules)."""
    return next((rule for rule in version.rules.all() if rule.key == rule_key), None)


@dataclass(frozen=True)
class Explanation:
    score: int
    lines: list[selectors.ExplainLine]


def explain_lead(lead_id: int) -> Explanation:
    """Why the lead has its score: the rules contributing points now (``selectors.explain`` without the
    rules that only left history)."""
    lines = [line for line in selectors.explain(lead_id) if line.points]
    return Explanation(score=sum(line.points for line in lines), lines=lines)


# --- Helpers -----------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _viewer(request: HttpRequest) -> User:
    user = _user(request)
    if user.role not in VIEWER_ROLES:
        raise PermissionDenied
    return user


def _editor(request: HttpRequest) -> User:
    user = _user(request)
    if user.role not in EDITOR_ROLES:
        raise PermissionDenied
    return user


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _version(version_id: int) -> ScoringVersion:
    version = get_version(version_id)
    if version is None:
        raise Http404
    return version


# --- Versions ----------------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _viewer(request)
    versions = list(selectors.list_versions())
    published = [v for v in versions if v.status == VersionStatus.PUBLISHED]
    context = {
        "published": published,
        "drafts": [v for v in versions if v.status == VersionStatus.DRAFT],
        "archived": [v for v in versions if v.status == VersionStatus.ARCHIVED],
        "teams": accounts_selectors.list_teams(),
        "can_edit": user.role in EDITOR_ROLES,
    }
    return render(request, "scoring/home.html", context)


@login_required
@require_POST
def new_draft(request: HttpRequest) -> HttpResponse:
    user = _editor(request)
    raw_team = request.POST.get("team_id") or ""
    raw_source = request.POST.get("from_version_id") or ""
    try:
        version = services.create_draft(
            actor=user,
            team_id=int(raw_team) if raw_team.isdigit() else None,
            from_version_id=int(raw_source) if raw_source.isdigit() else None,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("scoring:home")
    messages.success(request, _("Draft created."))
    return redirect("scoring:version", version.pk)


@dataclass(frozen=True)
class RuleRow:
    rule: ScoringRule
    summary: list[str]


def _rule_rows(version: ScoringVersion) -> tuple[list[RuleRow], list[RuleRow]]:
    fit: list[RuleRow] = []
    engagement: list[RuleRow] = []
    for rule in list_rules(version):
        row = RuleRow(rule=rule, summary=_describe_conditions(rule.conditions))
        (fit if rule.kind == "fit" else engagement).append(row)
    return fit, engagement


def _describe_conditions(conditions: list[dict[str, Any]]) -> list[str]:
    """Readable conditions: "Job title contains director, vp", "url contains /pricing"."""
    described = []
    for c in conditions:
        field = str(c.get("field", ""))
        label = (
            condition_fields.FIELDS[field][0] if field in condition_fields.FIELDS else field.removeprefix("properties.")
        )
        op = str(c.get("op", ""))
        value = "" if op in cond.PRESENCE_OPS else value_to_text(c.get("value"))
        described.append(" ".join(str(part) for part in (label, OPERATOR_LABELS.get(op, op), value) if str(part)))
    return described


def _settings_form(version: ScoringVersion, data: Any = None) -> SettingsForm:
    initial = {
        name: getattr(version, name)
        for name in ("name", "warm_min", "hot_min", "mql_threshold", "inactivity_days", "inactivity_points")
    }
    return SettingsForm(data, initial=initial, prefix="settings")


def _editor_context(request: HttpRequest, version: ScoringVersion, **extra: Any) -> dict[str, Any]:
    fit, engagement = _rule_rows(version)
    editable = version.status == VersionStatus.DRAFT and _user(request).role in EDITOR_ROLES
    return {
        "version": version,
        "fit_rules": fit,
        "engagement_rules": engagement,
        "editable": editable,
        "editable_role": _user(request).role in EDITOR_ROLES,
        "settings_form": extra.pop("settings_form", None) or _settings_form(version),
        "latest_backtest": selectors.latest_backtest(version.pk),
        **_editor_choices(),
        **extra,
    }


def _editor_choices() -> dict[str, Any]:
    return {
        "field_choices": fit_field_choices(),
        "operator_choices": operator_choices(),
        "decay_choices": list(DECAY_LABELS.items()),
        "event_types": EVENT_TYPES,
    }


@login_required
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    _viewer(request)
    version = _version(version_id)
    return render(request, "scoring/version.html", _editor_context(request, version))


def _draft_for_edit(request: HttpRequest, version_id: int) -> tuple[User, ScoringVersion]:
    user = _editor(request)
    version = _version(version_id)
    if version.status != VersionStatus.DRAFT:
        raise PermissionDenied
    return user, version


def _save_draft(user: User, version: ScoringVersion, *, rules: list[dict[str, Any]], **settings: Any) -> ScoringVersion:
    current = {
        name: getattr(version, name)
        for name in ("name", "warm_min", "hot_min", "mql_threshold", "inactivity_days", "inactivity_points")
    }
    return services.update_draft(version_id=version.pk, actor=user, rules=rules, **{**current, **settings})


def _all_rules(version: ScoringVersion) -> list[dict[str, Any]]:
    return [services.rule_as_dict(rule) for rule in list_rules(version)]


@login_required
@require_POST
def save_settings(request: HttpRequest, version_id: int) -> HttpResponse:
    user, version = _draft_for_edit(request, version_id)
    form = _settings_form(version, request.POST)
    saved = False
    if form.is_valid():
        try:
            version = _save_draft(user, version, rules=_all_rules(version), **form.cleaned_data)
            saved = True
        except DomainError as exc:
            for field, errors in exc.fields.items():
                form.add_error(field if field in form.fields else None, errors)
            if not exc.fields:
                form.add_error(None, exc.message)
    if not _htmx(request):
        if saved:
            messages.success(request, _("Settings saved."))
            return redirect("scoring:version", version.pk)
        return render(request, "scoring/version.html", _editor_context(request, version, settings_form=form))
    if saved:
        form = _settings_form(version)
    context = {"version": version, "settings_form": form, "editable": True, "saved": saved}
    return render(request, "scoring/partials/_settings.html", context)


def _rule_form_response(
    request: HttpRequest, version: ScoringVersion, form: RuleForm, rule: ScoringRule | None
) -> HttpResponse:
    form_id = f"{form.kind}-{rule.key if rule else 'new'}"
    context = {
        "version": version,
        "form": form,
        "rule": rule,
        "form_id": form_id,
        "editable": True,
        **_editor_choices(),
    }
    return render(request, "scoring/partials/_rule_form.html", context)


def _rule_row_response(request: HttpRequest, version: ScoringVersion, rule: ScoringRule) -> HttpResponse:
    row = RuleRow(rule=rule, summary=_describe_conditions(rule.conditions))
    return render(request, "scoring/partials/_rule_row.html", {"version": version, "row": row, "editable": True})


@login_required
def rule_new(request: HttpRequest, version_id: int) -> HttpResponse:
    """GET: an empty rule form (``kind`` fit or engagement); POST: add the rule to the draft."""
    user, version = _draft_for_edit(request, version_id)
    kind = request.GET.get("kind") or request.POST.get("kind") or "fit"
    if kind not in ("fit", "engagement"):
        raise Http404
    if request.method != "POST":
        return _rule_form_response(request, version, RuleForm(kind), None)
    return _rule_submit(request, user, version, RuleForm.from_post(kind, request.POST), None)


@login_required
def rule_edit(request: HttpRequest, version_id: int, rule_key: uuid.UUID) -> HttpResponse:
    user, version = _draft_for_edit(request, version_id)
    rule = get_rule(version, rule_key)
    if rule is None:
        raise Http404
    if request.method != "POST":
        return _rule_form_response(request, version, RuleForm(rule.kind, services.rule_as_dict(rule)), rule)
    return _rule_submit(request, user, version, RuleForm.from_post(rule.kind, request.POST), rule)


def _rule_submit(
    request: HttpRequest, user: User, version: ScoringVersion, form: RuleForm, rule: ScoringRule | None
) -> HttpResponse:
    if request.POST.get("action") == "add_condition":
        form.add_blank_row()
        return _rule_form_response(request, version, form, rule)
    raw = form.rule_data()
    rules = _all_rules(version)
    if rule is None:
        key = str(uuid.uuid4())
        rules.append({**raw, "key": key})
        index = len(rules) - 1
    else:
        key = str(rule.key)
        index = next(i for i, r in enumerate(rules) if r["key"] == key)
        rules[index] = {**raw, "key": key}
    try:
        _save_draft(user, version, rules=rules)
    except DomainError as exc:
        fields = {k: v for k, v in exc.fields.items() if k.startswith(f"rules.{index}.") or not k.startswith("rules.")}
        form.set_errors(fields, exc.message)
        if not form.has_errors:
            form.set_errors({}, exc.message)
        if not form.rows:
            form.add_blank_row()
        return _rule_form_response(request, version, form, rule)
    version = _version(version.pk)
    saved = next((r for r in version.rules.all() if str(r.key) == key), None)
    if not _htmx(request):
        messages.success(request, _("Rule saved."))
        return redirect("scoring:version", version.pk)
    if saved is None:  # pragma: no cover - just saved
        raise Http404
    if rule is None:  # the form's place empties; the new row is appended to its list (out of band)
        row = RuleRow(rule=saved, summary=_describe_conditions(saved.conditions))
        return render(request, "scoring/partials/_rule_saved.html", {"version": version, "row": row, "editable": True})
    return _rule_row_response(request, version, saved)


@login_required
def rule_row(request: HttpRequest, version_id: int, rule_key: uuid.UUID) -> HttpResponse:
    """The read-only row of a rule (the editor's "Cancel")."""
    _viewer(request)
    version = _version(version_id)
    rule = get_rule(version, rule_key)
    if rule is None:
        raise Http404
    row = RuleRow(rule=rule, summary=_describe_conditions(rule.conditions))
    editable = version.status == VersionStatus.DRAFT and _user(request).role in EDITOR_ROLES
    return render(request, "scoring/partials/_rule_row.html", {"version": version, "row": row, "editable": editable})


@login_required
@require_POST
def rule_delete(request: HttpRequest, version_id: int, rule_key: uuid.UUID) -> HttpResponse:
    user, version = _draft_for_edit(request, version_id)
    rule = get_rule(version, rule_key)
    if rule is None:
        raise Http404
    rules = [r for r in _all_rules(version) if r["key"] != str(rule.key)]
    try:
        _save_draft(user, version, rules=rules)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("scoring:version", version.pk)
    if not _htmx(request):
        messages.success(request, _("Rule deleted."))
        return redirect("scoring:version", version.pk)
    return HttpResponse("")


# --- Backtest and publish ------------------------------------------------------------------------------


@login_required
def backtest(request: HttpRequest, version_id: int) -> HttpResponse:
    """GET: the draft's latest backtest; POST: run a new one (it may run as a job: the page polls)."""
    user = _viewer(request)
    version = _version(version_id)
    if request.method == "POST":
        _editor(request)
        try:
            services.request_backtest(version.pk, actor=user)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("scoring:backtest", version.pk)
    result = selectors.latest_backtest(version.pk)
    context = {"version": version, "backtest": result, "can_edit": user.role in EDITOR_ROLES, **_diff_context(result)}
    return render(request, "scoring/backtest.html", context)


@login_required
def backtest_status(request: HttpRequest, backtest_id: int) -> HttpResponse:
    """The backtest fragment, polled by htmx while it runs."""
    user = _viewer(request)
    result = selectors.get_backtest(backtest_id)
    if result is None:
        raise Http404
    context = {
        "version": result.version,
        "backtest": result,
        "can_edit": user.role in EDITOR_ROLES,
        **_diff_context(result),
    }
    return render(request, "scoring/partials/_backtest.html", context)


GRADES = ("cold", "warm", "hot")


def _diff_context(result: Backtest | None) -> dict[str, Any]:
    """The backtest's results shaped for the template: a grade matrix (published → draft) and the rest."""
    if result is None or not result.results:
        return {}
    data = result.results
    raw_matrix = data.get("matrix") or {}
    matrix = [
        {"from": old, "cells": [{"to": new, "count": int((raw_matrix.get(old) or {}).get(new, 0)), "same": old == new}
                                for new in GRADES]}
        for old in GRADES
    ]  # fmt: skip
    conversion = [{"name": name, **(data.get("conversion") or {}).get(name, {})} for name in ("published", "draft")]
    return {"matrix": matrix, "results": data, "grades": GRADES, "conversion": conversion}


@login_required
@require_POST
def publish(request: HttpRequest, version_id: int) -> HttpResponse:
    user = _editor(request)
    version = _version(version_id)
    try:
        services.publish(version.pk, actor=user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("scoring:version", version.pk)
    messages.success(request, _("Published. Every lead is being rescored in the background."))
    if _htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("scoring:version", args=[version.pk])
        return response
    return redirect("scoring:version", version.pk)


@login_required
def progress(request: HttpRequest, version_id: int) -> HttpResponse:
    """The rescore progress bar of a published version (polled every 1.5 s until done)."""
    _viewer(request)
    state = selectors.rescore_progress(version_id)
    if state is None:
        raise Http404
    return render(request, "scoring/partials/_progress.html", {"version_id": version_id, "progress": state})


# --- Lead panel --------------------------------------------------------------------------------------


def _visible_lead(request: HttpRequest, lead_id: int) -> Lead:
    lead = leads_selectors.get_lead_visible_to(_user(request), lead_id)
    if lead is None:
        raise Http404
    return lead


def _prediction(lead_id: int) -> Any:
    try:
        from embudo.predictive import selectors as predictive
    except ImportError:  # pragma: no cover - the predictive app is optional
        return None
    finder = getattr(predictive, "prediction_for", None)
    if finder is None:  # pragma: no cover
        return None
    try:
        return finder(lead_id)
    except Exception:  # noqa: BLE001 - a failing model must not break the lead page
        return None


def _panel_context(request: HttpRequest, lead: Lead, **extra: Any) -> dict[str, Any]:
    user = _user(request)
    moves = lifecycle.allowed_moves(user, lead)
    bant = {name: getattr(lead, f"bant_{name}") for name in lifecycle_domain.BANT_FIELDS}
    return {
        "lead": lead,
        "explanation": explain_lead(lead.pk),
        "moves": [m for m in moves if m != lifecycle_domain.DISQUALIFIED],
        "can_disqualify": lifecycle_domain.DISQUALIFIED in moves,
        "can_accept": lead.lifecycle_stage == lifecycle_domain.MQL and lifecycle_domain.SQL in moves,
        "can_edit_bant": lifecycle.can_edit_bant(user, lead),
        "bant_form": extra.pop("bant_form", None) or BantForm(initial=bant, prefix="bant"),
        "stage_form": extra.pop("stage_form", None) or StageForm(prefix="stage"),
        "bant_known": lead.bant_known,
        "prediction": _prediction(lead.pk),
        **extra,
    }


@login_required
def lead_panel(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _visible_lead(request, lead_id)
    return render(request, "scoring/partials/_lead_panel.html", _panel_context(request, lead))


def _changed(request: HttpRequest, lead_id: int, message: str) -> HttpResponse:
    if _htmx(request):
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "scoring-changed"
        return response
    messages.success(request, message)
    return redirect("leads:detail", lead_id)


def _panel_with_errors(request: HttpRequest, lead_id: int, message: str, **forms: Any) -> HttpResponse:
    if not _htmx(request):
        messages.error(request, message)
        return redirect("leads:detail", lead_id)
    lead = _visible_lead(request, lead_id)
    return render(request, "scoring/partials/_lead_panel.html", _panel_context(request, lead, **forms))


@login_required
@require_POST
def lead_stage(request: HttpRequest, lead_id: int) -> HttpResponse:
    form = StageForm(request.POST, prefix="stage")
    if not form.is_valid():
        return _panel_with_errors(request, lead_id, _("Check the stage and reason."), stage_form=form)
    try:
        lifecycle.set_stage(lead_id=lead_id, actor=_user(request), **form.service_arguments())
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        for field, errors in exc.fields.items():
            form.add_error(field if field in form.fields else None, errors)
        if not exc.fields:
            form.add_error(None, exc.message)
        return _panel_with_errors(request, lead_id, exc.message, stage_form=form)
    return _changed(request, lead_id, _("Lifecycle stage changed."))


@login_required
@require_POST
def lead_bant(request: HttpRequest, lead_id: int) -> HttpResponse:
    form = BantForm(request.POST, prefix="bant")
    if not form.is_valid():
        return _panel_with_errors(request, lead_id, _("Check the BANT answers."), bant_form=form)
    try:
        lifecycle.update_bant(lead_id=lead_id, actor=_user(request), **form.cleaned_data)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        for field, errors in exc.fields.items():
            form.add_error(field if field in form.fields else None, errors)
        if not exc.fields:
            form.add_error(None, exc.message)
        return _panel_with_errors(request, lead_id, exc.message, bant_form=form)
    return _changed(request, lead_id, _("Qualification saved."))


@login_required
def lead_ledger(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Every change of the lead's score, newest first: the append-only ledger."""
    lead = _visible_lead(request, lead_id)
    entries = selectors.ledger_page(lead.pk, limit=500)
    context = {"lead": lead, "entries": entries, "explanation": explain_lead(lead.pk)}
    return render(request, "scoring/ledger.html", context)
