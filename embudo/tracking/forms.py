"""The tracking site form (admins and marketing)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from embudo.tracking.domain import events as domain


class SiteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    allowed_origins = forms.CharField(
        label=_("Allowed origins"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line, e.g. https://www.example.com or https://*.example.com for its subdomains."),
    )
    max_requests_per_minute = forms.IntegerField(
        label=_("Requests per minute from one visitor IP"), min_value=1, max_value=10_000, initial=120
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean_allowed_origins(self) -> list[str]:
        origins: list[str] = []
        for line in self.cleaned_data["allowed_origins"].splitlines():
            if not line.strip():
                continue
            origin = domain.normalize_origin(line)
            if not origin:
                raise forms.ValidationError(
                    _("“%(value)s” is not an origin: write scheme and host, e.g. https://www.example.com."),
                    params={"value": line.strip()[:100]},
                )
            if origin not in origins:
                origins.append(origin)
        if not origins:
            raise forms.ValidationError(_("Give at least one origin."))
        return origins
