"""Human names of the model's features (for factors and importances)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

FEATURE_LABELS: dict[str, Any] = {
    "country": _("Country"), "language": _("Language"), "source": _("Source"),
    "email_domain_kind": _("Email domain"), "seniority": _("Seniority"), "bant_known": _("BANT known"),
    "company_industry": _("Industry"), "company_size": _("Company size"), "company_country": _("Company country"),
}  # fmt: skip
EVENT_LABELS: dict[str, Any] = {
    "page_view": _("Page views"), "form_submitted": _("Forms submitted"), "email_opened": _("Emails opened"),
    "email_clicked": _("Email clicks"), "email_replied": _("Email replies"),
    "content_downloaded": _("Downloads"), "webinar_attended": _("Webinars attended"),
    "demo_requested": _("Demo requests"), "product_signed_up": _("Product sign-ups"),
    "product_active": _("Product activity"),
}  # fmt: skip


def feature_label(name: str) -> str:
    if name.startswith("activity."):
        event_type = name.removeprefix("activity.")
        return str(EVENT_LABELS.get(event_type, event_type.replace("_", " ").capitalize()))
    return str(FEATURE_LABELS.get(name, name.replace("_", " ")))
