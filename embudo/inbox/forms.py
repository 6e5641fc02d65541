from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from embudo.leads.models import Grade, LifecycleStage
from embudo.scoring.domain import lifecycle as lifecycle_domain

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
SLA_CHOICES = [
    ("", _("Any")),
    ("breaching", _("Breached")),
    ("due_soon", _("Breached or due within the hour")),
    ("any", _("With an SLA running")),
]
SNOOZE_PICKS = [("1h", _("In 1 hour")), ("tomorrow", _("Tomorrow 9:00")), ("next_week", _("Next week"))]


class FilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    grade = forms.ChoiceField(label=_("Grade"), required=False, choices=[("", _("Any")), *Grade.choices])
    lifecycle = forms.ChoiceField(
        label=_("Lifecycle"),
        required=False,
        choices=[("", _("Any"))]
        + [(v, label) for v, label in LifecycleStage.choices if v not in ("customer", "disqualified")],
    )
    source = forms.ChoiceField(label=_("Source"), required=False)
    sla = forms.ChoiceField(label=_("SLA"), required=False, choices=SLA_CHOICES)
    overdue_task = forms.BooleanField(label=_("Has an overdue task"), required=False)

    def __init__(self, *args: Any, sources: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = (self.data.get("source") or "") if self.is_bound else ""
        values = list(sources or [])
        if current and current not in values:
            values.append(current)
        self.fields["source"].choices = [("", _("Any")), *((s, s) for s in values)]  # type: ignore[attr-defined]
        self.fields["q"].widget.attrs.update({"type": "search", "autocomplete": "off", "data-inbox-filter": ""})


class SnoozeForm(forms.Form):
    pick = forms.ChoiceField(label=_("Snooze"), required=False, choices=SNOOZE_PICKS)
    until = forms.DateTimeField(
        label=_("Or until"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("pick") and not data.get("until"):
            raise forms.ValidationError(_("Pick when the lead comes back."))
        return data


class DisqualifyForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", "—")] + [(r, DISQUALIFY_LABELS.get(r, r)) for r in lifecycle_domain.DISQUALIFY_REASONS],
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200, widget=forms.TextInput())


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("View name"), max_length=60)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput())


class ReassignForm(forms.Form):
    lead_id = forms.IntegerField(widget=forms.HiddenInput())
    user_id = forms.TypedChoiceField(label=_("Give to"), coerce=int, empty_value=None, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=1000)

    def __init__(self, *args: Any, reps: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user_id"].choices = [("", _("Back to the queue")), *(reps or [])]  # type: ignore[attr-defined]
