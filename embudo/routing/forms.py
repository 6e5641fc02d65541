"""Routing UI input: plain helpers that turn posted fields into the dicts routing.services takes, and back.

Validation stays in routing.services (its field errors are keyed like ``rules.2.conditions.0.value``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

# The condition editor is shared with SLA policies (core.condition_rows); these names stay importable here.
from embudo.core.condition_rows import (  # noqa: F401
    LIST_OPS,
    OPERATOR_LABELS,
    condition_rows,
    conditions_from_post,
    operator_choices,
    text_to_value,
    value_to_text,
)
from embudo.routing.domain.schedule import WEEKDAYS

WEEKDAY_LABELS: dict[str, Any] = {
    "mon": _("Monday"), "tue": _("Tuesday"), "wed": _("Wednesday"), "thu": _("Thursday"), "fri": _("Friday"),
    "sat": _("Saturday"), "sun": _("Sunday"),
}  # fmt: skip
SPANS_PER_DAY = 2


def _id(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def rule_from_post(data: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": (data.get("name") or "").strip(),
        "conditions": conditions_from_post(data),
        "action": (data.get("action") or "").strip(),
        "user_id": _id(data.get("user_id")),
        "pool_id": _id(data.get("pool_id")),
        "team_id": _id(data.get("team_id")),
        "active": data.get("active") == "on",
    }


def rule_to_dict(rule: Any) -> dict[str, Any]:
    """A stored RoutingRule as the dict ``update_draft`` takes back."""
    return {
        "name": rule.name,
        "conditions": list(rule.conditions or []),
        "action": rule.action,
        "user_id": rule.user_id,
        "pool_id": rule.pool_id,
        "team_id": rule.team_id,
        "active": rule.active,
    }


def rule_errors(fields: Mapping[str, list[str]], index: int) -> dict[str, list[str]]:
    """The errors of rule ``index``, keyed relative to it ("name", "conditions.0.value", …)."""
    prefix = f"rules.{index}."
    return {k[len(prefix) :]: v for k, v in fields.items() if k.startswith(prefix)}


def hours_from_post(data: Mapping[str, str]) -> dict[str, list[list[str]]]:
    """Weekly grid ``<day>-<n>-start/end`` (HH:MM) → ``{"mon": [["09:00", "18:00"]]}``; blank spans are skipped."""
    hours: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        for n in range(SPANS_PER_DAY):
            start = (data.get(f"{day}-{n}-start") or "").strip()
            end = (data.get(f"{day}-{n}-end") or "").strip()
            if start or end:
                hours.setdefault(day, []).append([start, end])
    return hours


def hours_rows(hours: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for day in WEEKDAYS:
        spans = [list(s) for s in (hours.get(day) or [])][:SPANS_PER_DAY]
        spans += [["", ""]] * (SPANS_PER_DAY - len(spans))
        rows.append({"day": day, "label": WEEKDAY_LABELS[day],
                     "spans": [{"n": n, "start": s[0], "end": s[1]} for n, s in enumerate(spans)]})  # fmt: skip
    return rows


class OutOfOfficeForm(forms.Form):
    start = forms.DateTimeField(label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class ManualAssignForm(forms.Form):
    user_id = forms.TypedChoiceField(label=_("New owner"), coerce=int, required=False, empty_value=None)
    reason = forms.CharField(
        label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required: it is shown in the lead's assignment history."),
    )  # fmt: skip

    def __init__(self, *args: Any, users: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["user_id"]
        field.choices = [("", _("Nobody (back to the team queue)")), *[(u.pk, u.display_name) for u in users]]
