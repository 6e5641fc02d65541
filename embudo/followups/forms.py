"""Forms of the tasks pages: the add form (lead page panel), reschedule, and task rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from embudo.accounts.models import Team, User
from embudo.followups.domain import at_local
from embudo.followups.models import TaskKind

WHEN_CHOICES = [
    ("in_1h", _("In 1 hour")),
    ("tomorrow", _("Tomorrow 9:00")),
    ("in_3_days", _("In 3 days")),
    ("pick", _("Pick a date")),
]
REMIND_CHOICES = [
    (0, _("At the due time")),
    (15, _("15 minutes before")),
    (60, _("1 hour before")),
    (24 * 60, _("1 day before")),
]


def combine(day: Any, at: Any, tz: ZoneInfo) -> datetime:
    """A local date and time in ``tz`` (DST-safe) as an aware datetime."""
    return at_local(day, at, tz)


class TaskForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=TaskKind.choices, initial=TaskKind.CALL)
    title = forms.CharField(label=_("What to do"), max_length=200, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "off"}))  # fmt: skip
    when = forms.ChoiceField(label=_("When"), choices=WHEN_CHOICES, initial="tomorrow", widget=forms.RadioSelect)
    due_date = forms.DateField(label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_time = forms.TimeField(label=_("Time"), required=False, initial="09:00",
                               widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))  # fmt: skip
    remind_minutes_before = forms.TypedChoiceField(label=_("Remind me"), choices=REMIND_CHOICES, coerce=int,
                                                   initial=0)  # fmt: skip
    assignee_id = forms.TypedChoiceField(label=_("Assigned to"), coerce=int, required=False, empty_value=None)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=5000,
                            widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def __init__(self, *args: Any, assignees: list[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if assignees and len(assignees) > 1:
            field = cast(forms.ChoiceField, self.fields["assignee_id"])
            field.choices = [("", _("The lead's owner")), *((u.pk, u.display_name) for u in assignees)]
        else:
            del self.fields["assignee_id"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "title" in data and not str(data["title"]).strip():
            self.add_error("title", _("Say what to do."))
        if data.get("when") == "pick" and not data.get("due_date"):
            self.add_error("due_date", _("Pick the day."))
        return data

    def due_at(self, tz: ZoneInfo, quick: Any) -> datetime:
        """The due time chosen (``quick``: a function of a quick pick name → datetime)."""
        data = self.cleaned_data
        if data["when"] == "pick":
            at = data.get("due_time") or datetime.strptime("09:00", "%H:%M").time()  # noqa: DTZ007 - a wall time
            return combine(data["due_date"], at, tz)
        return quick(data["when"])


class RescheduleForm(forms.Form):
    due_date = forms.DateField(label=_("New date"), widget=forms.DateInput(attrs={"type": "date"}))
    due_time = forms.TimeField(label=_("New time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))


class RuleForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200, required=False,
                            help_text=_("For example: Call to follow up on the proposal."))  # fmt: skip
    kind = forms.ChoiceField(label=_("Type"), choices=TaskKind.choices, initial=TaskKind.CALL)
    stage_key = forms.ChoiceField(label=_("When a deal enters"))
    delay_days = forms.IntegerField(label=_("After (days)"), min_value=0, max_value=365, initial=3)
    delay_hours = forms.IntegerField(label=_("And (hours)"), min_value=0, max_value=552, initial=0)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, teams: list[Team], stages: list[tuple[str, str]], allow_every_team: bool,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        first = [("", _("Every team"))] if allow_every_team else []
        team_field = cast(forms.ChoiceField, self.fields["team_id"])
        stage_field = cast(forms.ChoiceField, self.fields["stage_key"])
        team_field.choices = first + [(t.pk, t.name) for t in teams]
        stage_field.choices = stages
