"""Forms of the scoring UI: lifecycle moves and BANT on the lead panel, the rule editor of a draft."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from embudo.core.domain import conditions as cond
from embudo.leads import condition_fields
from embudo.leads.models import LifecycleStage
from embudo.scoring.domain import lifecycle as domain
from embudo.scoring.templatetags.scoring_tags import DISQUALIFY_LABELS

# --- Lead panel ------------------------------------------------------------------------------------


class StageForm(forms.Form):
    """One form behind the three controls of the panel: accept (MQL → SQL), disqualify, move to a stage."""

    stage = forms.ChoiceField(label=_("Move to"), choices=LifecycleStage.choices)
    reason = forms.ChoiceField(
        label=_("Reason"),
        required=False,
        choices=[("", _("Choose a reason")), *((code, DISQUALIFY_LABELS[code]) for code in domain.DISQUALIFY_REASONS)],
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=domain.MAX_REASON)

    def service_arguments(self) -> dict[str, str]:
        """Disqualifying: reason code + note; any other move: the note is the reason."""
        data = self.cleaned_data
        if data["stage"] == domain.DISQUALIFIED:
            return {"stage": data["stage"], "reason": data["reason"], "note": data["note"]}
        return {"stage": data["stage"], "reason": data["note"], "note": ""}


class BantForm(forms.Form):
    budget = forms.CharField(
        label=_("Budget"), required=False, max_length=domain.MAX_BANT, help_text=_("e.g. 20,000 EUR approved")
    )
    authority = forms.CharField(
        label=_("Authority"), required=False, max_length=domain.MAX_BANT, help_text=_("Who decides and signs")
    )
    need = forms.CharField(
        label=_("Need"), required=False, max_length=domain.MAX_BANT, help_text=_("The problem to solve")
    )
    timing = forms.CharField(
        label=_("Timing"), required=False, max_length=domain.MAX_BANT, help_text=_("When they buy")
    )


# --- Rule editor -----------------------------------------------------------------------------------


class SettingsForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False, max_length=120)
    warm_min = forms.IntegerField(label=_("Warm from (points)"))
    hot_min = forms.IntegerField(label=_("Hot from (points)"))
    mql_threshold = forms.IntegerField(label=_("MQL at (points)"))
    inactivity_days = forms.IntegerField(label=_("Inactive after (days, 0: off)"), min_value=0)
    inactivity_points = forms.IntegerField(label=_("Points when inactive"), help_text=_("Usually negative, e.g. -10"))


OPERATOR_LABELS: dict[str, Any] = {
    "equals": _("equals"),
    "not_equals": _("does not equal"),
    "in": _("is one of"),
    "not_in": _("is none of"),
    "contains": _("contains"),
    "not_contains": _("does not contain"),
    "starts_with": _("starts with"),
    "gte": _("at least"),
    "lte": _("at most"),
    "between": _("between"),
    "missing": _("is missing"),
    "present": _("is present"),
}
DECAY_LABELS: dict[str, Any] = {"none": _("No decay"), "linear": _("Linear"), "half_life": _("Half-life")}
EVENT_TYPES = (
    "page_view",
    "form_submitted",
    "email_opened",
    "email_clicked",
    "email_replied",
    "content_downloaded",
    "webinar_attended",
    "demo_requested",
    "product_signed_up",
    "product_active",
)
_LIST_SPLIT = re.compile(r"\s*,\s*")
PROPERTY_PREFIX = "properties."


def value_from_text(op: str, text: str) -> Any:
    """The editor's one text box → the condition value: comma-separated lists for in/contains/between."""
    text = text.strip()
    if op in cond.PRESENCE_OPS:
        return None
    if op in ("in", "not_in", "contains", "not_contains", "starts_with", "between"):
        return [part for part in _LIST_SPLIT.split(text) if part] if text else []
    return text


def value_to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class ConditionRow:
    """One condition line of the editor (plain values; rendered by the template with its own names)."""

    def __init__(self, index: int, field: str = "", op: str = "equals", value: str = "") -> None:
        self.index, self.field, self.op, self.value = index, field, op, value
        self.errors: dict[str, list[str]] = {}

    @property
    def property_name(self) -> str:
        return self.field.removeprefix(PROPERTY_PREFIX)


class RuleForm:
    """The rule editor's form: fixed fields plus a variable list of condition rows (``cond-<i>-field`` …).

    Validation is the scoring domain's (through the service); errors come back keyed like
    ``rules.0.conditions.1.value`` or ``conditions.1.value`` or ``points`` and are placed on the rows.
    """

    def __init__(self, kind: str, data: dict[str, Any] | None = None, *, blank_rows: int = 1) -> None:
        self.kind = kind
        self.data: dict[str, Any] = {
            "label": "",
            "points": "",
            "event_type": "",
            "repeatable": False,
            "max_points": "",
            "window_days": "",
            "decay": "none",
            "decay_days": "",
        }
        self.rows: list[ConditionRow] = []
        self.errors: dict[str, list[str]] = {}
        self.non_field_errors: list[str] = []
        if data:
            self.data.update({k: v for k, v in data.items() if k in self.data})
            for i, c in enumerate(data.get("conditions") or []):
                self.rows.append(
                    ConditionRow(i, str(c.get("field", "")), str(c.get("op", "")), value_to_text(c.get("value")))
                )
        for _i in range(blank_rows):
            self.rows.append(ConditionRow(len(self.rows)))

    @classmethod
    def from_post(cls, kind: str, post: Any) -> RuleForm:
        form = cls(kind, blank_rows=0)
        for name in ("label", "points", "event_type", "max_points", "window_days", "decay", "decay_days"):
            form.data[name] = str(post.get(name, "")).strip()
        form.data["repeatable"] = post.get("repeatable") in ("on", "true", "1")
        count = min(
            int(post.get("condition_count") or 0) if str(post.get("condition_count") or "").isdigit() else 0, 50
        )
        for i in range(count):
            if post.get(f"cond-{i}-remove"):
                continue
            field = str(post.get(f"cond-{i}-field", "")).strip()
            if kind == "engagement" and field and not field.startswith(PROPERTY_PREFIX):
                field = PROPERTY_PREFIX + field
            form.rows.append(
                ConditionRow(
                    len(form.rows), field, str(post.get(f"cond-{i}-op", "equals")), str(post.get(f"cond-{i}-value", ""))
                )
            )
        return form

    def add_blank_row(self) -> None:
        self.rows.append(ConditionRow(len(self.rows)))

    def rule_data(self) -> dict[str, Any]:
        """The raw rule for the scoring service (rows without a field are left out)."""
        rows = [row for row in self.rows if row.field and row.field != PROPERTY_PREFIX]
        self._sent_rows = rows
        raw: dict[str, Any] = {
            "kind": self.kind,
            "label": self.data["label"],
            "points": self.data["points"],
            "conditions": [{"field": r.field, "op": r.op, "value": value_from_text(r.op, r.value)} for r in rows],
        }
        if self.kind == "engagement":
            raw.update(
                event_type=self.data["event_type"],
                repeatable=bool(self.data["repeatable"]),
                max_points=self.data["max_points"] or None,
                window_days=self.data["window_days"] or None,
                decay=self.data["decay"] or "none",
                decay_days=self.data["decay_days"] or None,
            )
        return raw

    def set_errors(self, fields: dict[str, list[str]], message: str = "") -> None:
        """Place the service's field errors on the form fields and condition rows."""
        sent = getattr(self, "_sent_rows", self.rows)
        for key, messages in fields.items():
            path = re.sub(r"^rules\.\d+\.", "", key)
            match = re.match(r"^conditions\.(\d+)(?:\.(\w+))?$", path)
            if match:
                i = int(match.group(1))
                part = match.group(2) or "value"
                if i < len(sent):
                    sent[i].errors.setdefault(part, []).extend(messages)
                    continue
            if path in self.data or path == "conditions":
                self.errors.setdefault(path, []).extend(messages)
            else:
                self.non_field_errors.extend(messages)
        if message and not fields:
            self.non_field_errors.append(message)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.non_field_errors or any(row.errors for row in self.rows))


def fit_field_choices() -> list[tuple[str, Any]]:
    return condition_fields.choices()


def operator_choices() -> list[tuple[str, Any]]:
    return [(op, OPERATOR_LABELS[op]) for op in cond.OPERATORS]
