from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from embudo.accounts.models import Team
from embudo.notifications.models import NotificationKind


class WebhookForm(forms.Form):
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int)
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.URLField(
        label=_("URL"), max_length=500, assume_scheme="https",
        help_text=_("A Slack or Microsoft Teams incoming-webhook address, or any endpoint that accepts JSON."),
    )  # fmt: skip
    kinds = forms.MultipleChoiceField(
        label=_("Send"), choices=NotificationKind.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave all unticked to send every kind."),
    )  # fmt: skip
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, teams: list[Team], editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        team_field: Any = self.fields["team_id"]
        team_field.choices = [(t.pk, t.name) for t in teams]
        if editing:
            team_field.disabled = True
            team_field.required = False

    def add_service_errors(self, fields: dict[str, list[str]]) -> None:
        for field, messages in fields.items():
            name = {"team": "team_id"}.get(field, field)
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
