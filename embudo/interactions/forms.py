"""Forms of the lead panel. They only shape input; the services validate (their field errors come back here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from embudo.interactions import domain
from embudo.interactions.models import CallOutcome, Direction, MeetingOutcome


class PanelForm(forms.Form):
    """Field ids are unique per lead and kind (several panels may share a page, e.g. the inbox)."""

    # Service field name → form field name, when they differ.
    service_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, lead_id: int, kind: str, **kwargs: Any):
        kwargs.setdefault("auto_id", f"ix-{lead_id}-{kind}-%s")
        super().__init__(*args, **kwargs)

    def add_service_errors(self, fields: dict[str, list[str]], message: str = "") -> None:
        for name, messages in fields.items():
            target = self.service_fields.get(name, name)
            for text in messages:
                self.add_error(target if target in self.fields else None, text)
        if not fields and message:
            self.add_error(None, message)

    def describe_errors(self) -> None:
        """Point each invalid input at its error list (screen readers read it with the label)."""
        for name in self.errors:
            if name in self.fields:
                bound = self[name]
                widget = self.fields[name].widget
                ids = [f"{bound.auto_id}_error"]
                if self.fields[name].help_text:
                    ids.append(f"{bound.auto_id}_helptext")
                widget.attrs.update({"aria-describedby": " ".join(ids), "aria-invalid": "true"})


class WhenMixin(forms.Form):
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        help_text=_("Leave empty for just now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    # The browser's IANA time zone (filled by interactions.js): a datetime-local value is the rep's wall time.
    tz = forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-ix-tz": ""}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        at = data.get("occurred_at")
        if isinstance(at, datetime):
            try:
                zone = ZoneInfo(data.get("tz") or "") if data.get("tz") else None
            except (ZoneInfoNotFoundError, ValueError):
                zone = None
            if zone is not None:
                data["occurred_at"] = timezone.make_aware(at.replace(tzinfo=None), zone)
        return data


class CallForm(WhenMixin, PanelForm):
    service_fields: ClassVar[dict[str, str]] = {"duration_seconds": "duration"}

    outcome = forms.ChoiceField(label=_("Outcome"), choices=CallOutcome.choices, widget=forms.RadioSelect)
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=Direction.choices,
        initial=Direction.OUTBOUND,
        required=False,
        widget=forms.RadioSelect,
    )
    duration = forms.CharField(
        label=_("Duration"),
        required=False,
        max_length=8,
        help_text=_("Minutes, or mm:ss."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "size": 8}),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=domain.MAX_NOTES, widget=forms.Textarea(attrs={"rows": 3})
    )
    field_order: ClassVar[list[str]] = ["outcome", "direction", "duration", "occurred_at", "notes"]  # type: ignore[misc]

    def clean_duration(self) -> int | None:
        try:
            return domain.parse_duration(self.cleaned_data.get("duration") or "")
        except ValueError as exc:
            raise forms.ValidationError(_("Give the duration as minutes or mm:ss.")) from exc


class MeetingForm(WhenMixin, PanelForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=MeetingOutcome.choices, widget=forms.RadioSelect)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=domain.MAX_NOTES, widget=forms.Textarea(attrs={"rows": 3})
    )
    field_order: ClassVar[list[str]] = ["outcome", "occurred_at", "notes"]  # type: ignore[misc]


class EmailForm(PanelForm):
    subject = forms.CharField(label=_("Subject"), max_length=domain.MAX_SUBJECT)
    body = forms.CharField(label=_("Message"), max_length=domain.MAX_BODY, widget=forms.Textarea(attrs={"rows": 6}))


class WhatsAppForm(PanelForm):
    text = forms.CharField(
        label=_("Message"),
        max_length=domain.MAX_WHATSAPP_TEXT,
        widget=forms.Textarea(attrs={"rows": 3, "data-ix-wa-text": ""}),
    )


FORMS: dict[str, type[PanelForm]] = {
    "call": CallForm,
    "meeting": MeetingForm,
    "email": EmailForm,
    "whatsapp": WhatsAppForm,
}
