"""Django forms of the form builder: the form's settings and its fields (a formset)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from embudo.accounts import selectors as accounts_selectors
from embudo.capture import forms_channel, mapping
from embudo.capture.models import Form

RESERVED_NAMES = frozenset(
    {"consent", forms_channel.TOKEN_FIELD, forms_channel.HONEYPOT, forms_channel.KNOWN_FIELD, "lang",
     *forms_channel.META_FIELDS}
)  # fmt: skip
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
CUSTOM_RE = re.compile(r"^custom:[a-z0-9_]{1,60}$")
MAPS_TO_CHOICES = (*mapping.LEAD_FIELD_NAMES, "message")
# The lead fields the intake accepts as the only contact of a new lead (see services.prepare_submission).
CONTACT_FIELDS = frozenset({"email", "phone", "whatsapp_id", "first_name", "last_name"})


class FormSettingsForm(forms.ModelForm):
    default_language = forms.ChoiceField(
        label=_("Default language"), choices=[("en", _("English")), ("es", _("Spanish"))]
    )
    redirect_url = forms.URLField(
        label=_("Redirect after submit"), max_length=500, required=False, assume_scheme="https"
    )

    class Meta:
        model = Form
        fields = [
            "name", "slug", "team", "source", "default_language", "default_region",
            "consent_required", "consent_purpose", "consent_text_en", "consent_text_es", "consent_version",
            "thank_you_en", "thank_you_es", "redirect_url", "allowed_hosts", "double_opt_in",
            "progressive_profiling", "min_fill_seconds", "max_per_ip_per_hour", "max_per_hour", "active",
        ]  # fmt: skip
        labels = {"team": _("Team")}
        widgets = {
            "consent_text_en": forms.Textarea(attrs={"rows": 3}),
            "consent_text_es": forms.Textarea(attrs={"rows": 3}),
            "thank_you_en": forms.Textarea(attrs={"rows": 2}),
            "thank_you_es": forms.Textarea(attrs={"rows": 2}),
            "allowed_hosts": forms.Textarea(attrs={"rows": 3, "placeholder": "www.example.com"}),
        }
        help_texts = {
            "allowed_hosts": _("One host per line. Sites allowed to embed the form and to be redirected to."),
            "default_region": _("Two-letter country code used for phone numbers without a country prefix."),
            "consent_version": _("Give a new version whenever the consent text changes, in either language."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = accounts_selectors.list_teams()  # type: ignore[attr-defined]

    def clean_default_region(self) -> str:
        value = str(self.cleaned_data.get("default_region") or "").strip().upper()
        if value and not re.fullmatch(r"[A-Z]{2}", value):
            raise forms.ValidationError(_("Use a two-letter country code, such as ES or MX."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        url = data.get("redirect_url") or ""
        hosts = [h.strip().lower() for h in str(data.get("allowed_hosts") or "").splitlines() if h.strip()]
        if url and not forms_channel.host_allowed(url, hosts):
            self.add_error("redirect_url", _("Add the redirect's host to the allowed hosts."))
        if data.get("consent_required") and not (data.get("consent_text_en") or data.get("consent_text_es")):
            self.add_error("consent_text_en", _("Write the consent text people agree to."))
        self._check_consent_version(data)
        return data

    def _check_consent_version(self, data: dict[str, Any]) -> None:
        """Each consent record names its text's version: a changed text (in either language) needs a new
        version, or two records of one version would prove agreement to different texts."""
        saved = self.instance
        if saved.pk is None or "consent_version" not in data:
            return
        before = (_same_text(saved.consent_text_en), _same_text(saved.consent_text_es))
        after = (_same_text(data.get("consent_text_en")), _same_text(data.get("consent_text_es")))
        if any(before) and before != after and str(data.get("consent_version") or "") == saved.consent_version:
            self.add_error(
                "consent_version",
                _("The consent text changed: give it a new version (the current one is %(version)s).")
                % {"version": saved.consent_version or "—"},
            )


def _same_text(value: object) -> str:
    """A consent text as compared for versioning: line endings and surrounding blanks do not count."""
    return "\n".join(line.rstrip() for line in str(value or "").replace("\r\n", "\n").strip().split("\n"))


class FieldRowForm(forms.Form):
    name = forms.CharField(label=_("Field name"), max_length=60)
    type = forms.ChoiceField(
        label=_("Type"),
        choices=[
            ("text", _("Text")), ("email", _("Email")), ("tel", _("Phone")), ("textarea", _("Long text")),
            ("select", _("Choice list")), ("checkbox", _("Checkbox")), ("hidden", _("Hidden")),
        ],
    )  # fmt: skip
    required = forms.BooleanField(label=_("Required"), required=False)
    label_en = forms.CharField(label=_("Label (English)"), max_length=200, required=False)
    label_es = forms.CharField(label=_("Label (Spanish)"), max_length=200, required=False)
    options = forms.CharField(
        label=_("Options (one per line)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    maps_to = forms.CharField(
        label=_("Saves to"),
        max_length=70,
        required=False,
        widget=forms.TextInput(attrs={"list": "maps-to-options"}),
        help_text=_("A lead field, message, or custom:key. Empty: a custom field named like the field."),
    )

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip().lower()
        if not NAME_RE.match(name):
            raise forms.ValidationError(_("Use lower-case letters, digits and underscores, starting with a letter."))
        if name in RESERVED_NAMES:
            raise forms.ValidationError(_("This name is reserved."))
        return name

    def clean_maps_to(self) -> str:
        value = str(self.cleaned_data.get("maps_to") or "").strip()
        if value and value not in MAPS_TO_CHOICES and not CUSTOM_RE.match(value):
            raise forms.ValidationError(_("Choose a lead field, message, or custom:key."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        options = [o.strip() for o in str(data.get("options") or "").splitlines() if o.strip()]
        data["options"] = options
        if data.get("type") == "select" and not options:
            self.add_error("options", _("A choice list needs options."))
        maps_to = str(data.get("maps_to") or "")
        if data.get("type") == "checkbox" and maps_to and not maps_to.startswith("custom:"):
            self.add_error("maps_to", _("A checkbox is yes or no: save it to a custom field (custom:key)."))
        return data

    def definition(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "name": d["name"], "type": d["type"], "required": bool(d.get("required")),
            "label_en": d.get("label_en", ""), "label_es": d.get("label_es", ""),
            "options": d.get("options") or [], "maps_to": d.get("maps_to", ""),
        }  # fmt: skip


class BaseFieldFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        names: set[str] = set()
        for form in self.forms:
            if not form.has_changed() or form.cleaned_data.get("DELETE"):
                continue
            name = form.cleaned_data.get("name")
            if name in names:
                raise forms.ValidationError(_("Two fields are named %(name)s.") % {"name": name})
            names.add(name)
        if not names:
            raise forms.ValidationError(_("Add at least one field."))
        if not any(f.cleaned_data.get("maps_to") in CONTACT_FIELDS for f in self._kept_forms()):
            raise forms.ValidationError(
                _("Add a field that saves to the email, the phone or a name: without one no lead can be created.")
            )

    def _kept_forms(self) -> list[Any]:
        return [f for f in self.forms if f.has_changed() and not f.cleaned_data.get("DELETE")]

    def definitions(self) -> list[dict[str, Any]]:
        return [f.definition() for f in self.ordered_forms]


FieldFormSet = forms.formset_factory(FieldRowForm, formset=BaseFieldFormSet, extra=0, can_delete=True, can_order=True)


def field_formset(data: Any = None, *, fields: list[dict[str, Any]] | None = None) -> BaseFieldFormSet:
    initial = [{**f, "options": "\n".join(f.get("options") or []), "ORDER": i + 1} for i, f in enumerate(fields or [])]
    return FieldFormSet(data, initial=initial if data is None else None, prefix="fields")  # type: ignore[return-value]
