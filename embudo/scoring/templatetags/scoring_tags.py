"""Labels for scoring values in templates (timeline partials, the lead panel)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from embudo.leads.models import Grade, LifecycleStage
from embudo.scoring.domain import lifecycle as domain

register = template.Library()

RULE_LABELS: dict[str, Any] = {
    domain.Rule.SCORE_THRESHOLD: _("score threshold"),
    domain.Rule.PRODUCT_ACTIVITY: _("product activity"),
    domain.Rule.BANT_COMPLETE: _("BANT complete"),
}
DISQUALIFY_LABELS: dict[str, Any] = {
    "no_budget": _("No budget"),
    "no_authority": _("No authority"),
    "no_need": _("No need"),
    "bad_timing": _("Bad timing"),
    "competitor": _("Went with a competitor"),
    "student": _("Student"),
    "spam": _("Spam"),
    "unreachable": _("Unreachable"),
    "other": _("Other"),
}


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "—")


@register.filter
def stage_label(value: Any) -> str:
    return _label(LifecycleStage, value)


@register.filter
def grade_label(value: Any) -> str:
    return _label(Grade, value)


@register.filter
def lifecycle_rule_label(value: Any) -> str:
    return str(RULE_LABELS.get(str(value), value))


@register.filter
def lifecycle_reason_label(value: Any) -> str:
    """``no_budget: Frozen until Q3`` → ``No budget: Frozen until Q3``; free text stays as it is."""
    code, note = domain.split_reason(str(value or ""))
    if not code:
        return note
    label = str(DISQUALIFY_LABELS.get(code, code))
    return f"{label}: {note}" if note else label


@register.filter
def signed(value: Any) -> str:
    """Points with their sign: +20, −5, 0."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return str(value)
    return f"+{number}" if number > 0 else (f"−{-number}" if number < 0 else "0")
