from __future__ import annotations

import copy
from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from embudo.accounts.models import Team, User
from embudo.leads.models import LeadStatus, LifecycleStage

LANGUAGE_CHOICES = [("", "—"), ("en", _("English")), ("es", _("Spanish"))]


class LeadForm(forms.Form):
    """Fields a person edits in the UI. Validation rules live in ``leads.domain``/services; this
    form only shapes input (the service's field errors are attached back to it)."""

    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    email = forms.CharField(
        label=_("Email"), max_length=254, required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=150, required=False)
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)
    street_address = forms.CharField(label=_("Street address"), max_length=200, required=False)
    address_line2 = forms.CharField(label=_("Address line 2"), max_length=200, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    country = forms.CharField(label=_("Country (ISO code)"), max_length=2, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES, required=False)
    source = forms.CharField(label=_("Source"), max_length=64, required=False)
    lifecycle_stage = forms.ChoiceField(
        label=_("Lifecycle stage"), choices=LifecycleStage.choices, initial=LifecycleStage.LEAD
    )
    status = forms.ChoiceField(label=_("Status"), choices=LeadStatus.choices, initial=LeadStatus.NEW)
    owner_id = forms.TypedChoiceField(label=_("Owner"), coerce=int, required=False, empty_value=None)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, owners: list[User], teams: list[Team], **kwargs: Any):
        super().__init__(*args, **kwargs)
        owner_field: Any = self.fields["owner_id"]
        owner_field.choices = [("", _("Unassigned")), *[(u.pk, u.display_name) for u in owners]]
        team_field: Any = self.fields["team_id"]
        team_field.choices = [("", "—"), *[(t.pk, t.name) for t in teams]]

    def add_service_errors(self, fields: dict[str, list[str]]) -> None:
        for field, messages in fields.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class LeadFilterForm(forms.Form):
    search = forms.CharField(label=_("Search"), required=False)
    lifecycle_stage = forms.ChoiceField(
        label=_("Stage"), required=False, choices=[("", _("All stages")), *LifecycleStage.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *LeadStatus.choices]
    )
    grade = forms.ChoiceField(
        label=_("Grade"),
        required=False,
        choices=[("", _("All grades")), ("hot", _("Hot")), ("warm", _("Warm")), ("cold", _("Cold"))],
    )
    owner = forms.ChoiceField(
        label=_("Owner"), required=False, choices=[("", _("Anyone")), ("me", _("Me")), ("none", _("Unassigned"))]
    )
    # Set by the company card's link on the lead page ("Leads from this company"); shown as a removable chip.
    company = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("-created", _("Newest first")),
            ("created", _("Oldest first")),
            ("-updated", _("Recently updated")),
            ("-score", _("Highest score")),
            ("last_name", _("Last name")),
        ],
    )


class LeadSectionForm(forms.Form):
    """One card of the lead page edited in place (contact, company or address): a few of
    ``LeadForm``'s fields, saved through ``services.update_lead``. Django renders ``aria-invalid`` and
    ``aria-describedby="<id>_error"`` on invalid inputs (the id includes/field.html gives the messages)."""

    section: ClassVar[str] = ""

    def add_service_errors(self, fields: dict[str, list[str]]) -> None:
        for field, messages in fields.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


def _section_form(section: str, names: tuple[str, ...]) -> type[LeadSectionForm]:
    fields: dict[str, Any] = {name: copy.deepcopy(LeadForm.base_fields[name]) for name in names}
    name = f"{section.title()}SectionForm"
    return type(name, (LeadSectionForm,), {"section": section, **fields})


SECTION_FIELDS: dict[str, tuple[str, ...]] = {
    "contact": ("first_name", "last_name", "job_title", "email", "phone", "language"),
    "company": ("company_name",),
    "address": ("street_address", "address_line2", "city", "region", "postal_code", "country"),
}
SECTION_FORMS: dict[str, type[LeadSectionForm]] = {
    section: _section_form(section, names) for section, names in SECTION_FIELDS.items()
}
