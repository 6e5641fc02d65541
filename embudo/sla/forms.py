from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from embudo.accounts.models import Team
from embudo.sla.models import Trigger

PERIODS = [("7", _("Last 7 days")), ("30", _("Last 30 days")), ("90", _("Last 90 days"))]
GROUPS = [("team", _("Team")), ("source", _("Source")), ("rep", _("Rep"))]


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False, initial="30")
    team = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)
    source = forms.ChoiceField(label=_("Source"), required=False)
    group = forms.ChoiceField(label=_("Group by"), choices=GROUPS, required=False, initial="team")

    def __init__(self, *args: Any, teams: list[Team], sources: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        team_field: Any = self.fields["team"]
        team_field.choices = [("", _("All my teams")), *[(t.pk, t.name) for t in teams]]
        source_field: Any = self.fields["source"]
        source_field.choices = [("", _("All sources")), *[(s, s) for s in sources]]


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)
    trigger = forms.ChoiceField(label=_("Starts when"), choices=Trigger.choices)
    target_minutes = forms.IntegerField(label=_("Target (minutes)"), min_value=1)
    remind_before_minutes = forms.IntegerField(
        label=_("Remind the owner this many minutes before (0: no reminder)"), min_value=0, initial=0
    )
    business_hours = forms.BooleanField(label=_("Count the owner's business hours only"), required=False, initial=True)
    escalate = forms.BooleanField(label=_("On breach, notify the team's managers"), required=False, initial=True)
    reassign = forms.BooleanField(label=_("On breach, reassign to the next eligible rep"), required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    # Conditions come from the shared condition editor (core.condition_rows), not a form field.

    def __init__(self, *args: Any, teams: list[Team], **kwargs: Any):
        super().__init__(*args, **kwargs)
        team_field: Any = self.fields["team_id"]
        team_field.choices = [("", _("Every team")), *[(t.pk, t.name) for t in teams]]

    def add_service_errors(self, fields: dict[str, list[str]]) -> None:
        """Field errors of the service; condition errors are shown by the condition editor instead."""
        for field, messages in fields.items():
            if field.startswith("conditions"):
                continue
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class HolidayForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    name = forms.CharField(label=_("Name"), max_length=120)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, teams: list[Team], **kwargs: Any):
        super().__init__(*args, **kwargs)
        team_field: Any = self.fields["team_id"]
        team_field.choices = [("", _("Every team")), *[(t.pk, t.name) for t in teams]]

    def add_service_errors(self, fields: dict[str, list[str]]) -> None:
        for field, messages in fields.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
