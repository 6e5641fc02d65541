"""The lead and company fields that scoring and routing conditions can test.

One catalogue for both evaluators of ``core.domain.conditions``: ``SQL`` gives each field's expression
over ``leads_lead l LEFT JOIN leads_company c ON c.id = l.company_id``, and :func:`record_of` gives the
same values for one lead in Python. Custom fields are ``custom.<key>`` (``l.custom_fields ->> key``).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from embudo.leads.models import Lead

# name → (label, SQL expression). Labels are for the rule editors' field pickers.
FIELDS: dict[str, tuple[Any, str]] = {
    "first_name": (_("First name"), "l.first_name"),
    "last_name": (_("Last name"), "l.last_name"),
    "email": (_("Email"), "l.email"),
    "email_domain": (_("Email domain"), "split_part(l.email, '@', 2)"),
    "email_domain_kind": (_("Email domain kind (business, free, disposable)"), "l.email_domain_kind"),
    "phone": (_("Phone"), "l.phone"),
    "job_title": (_("Job title"), "l.job_title"),
    "company_name": (_("Company name"), "coalesce(nullif(c.name, ''), l.company_name)"),
    "city": (_("City"), "l.city"),
    "region": (_("Region"), "l.region"),
    "postal_code": (_("Postal code"), "l.postal_code"),
    "country": (_("Country"), "l.country"),
    "language": (_("Language"), "l.language"),
    "source": (_("Source"), "l.source"),
    "lifecycle_stage": (_("Lifecycle stage"), "l.lifecycle_stage"),
    "status": (_("Status"), "l.status"),
    "score": (_("Score"), "l.score"),
    "grade": (_("Grade"), "l.grade"),
    "team_id": (_("Team (id)"), "l.team_id"),
    "owner_id": (_("Owner (id)"), "l.owner_id"),
    "bant_budget": (_("Budget"), "l.bant_budget"),
    "bant_authority": (_("Authority"), "l.bant_authority"),
    "bant_need": (_("Need"), "l.bant_need"),
    "bant_timing": (_("Timing"), "l.bant_timing"),
    "company.domain": (_("Company domain"), "c.domain"),
    "company.industry": (_("Company industry"), "c.industry"),
    "company.size": (_("Company size"), "c.size"),
    "company.country": (_("Company country"), "c.country"),
}
SQL: dict[str, str] = {name: expr for name, (_label, expr) in FIELDS.items()}
CUSTOM_SQL = "l.custom_fields"
FROM_SQL = "leads_lead l LEFT JOIN leads_company c ON c.id = l.company_id"


def choices() -> list[tuple[str, Any]]:
    return [(name, label) for name, (label, _expr) in FIELDS.items()]


def record_of(lead: Lead) -> dict[str, Any]:
    """The condition record of one lead (its company read through ``lead.company``: select_related it)."""
    company = lead.company
    record: dict[str, Any] = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "email_domain": lead.email.partition("@")[2],
        "email_domain_kind": lead.email_domain_kind,
        "phone": lead.phone,
        "job_title": lead.job_title,
        "company_name": (company.name if company and company.name else lead.company_name),
        "city": lead.city,
        "region": lead.region,
        "postal_code": lead.postal_code,
        "country": lead.country,
        "language": lead.language,
        "source": lead.source,
        "lifecycle_stage": lead.lifecycle_stage,
        "status": lead.status,
        "score": lead.score,
        "grade": lead.grade,
        "team_id": lead.team_id,
        "owner_id": lead.owner_id,
        "bant_budget": lead.bant_budget,
        "bant_authority": lead.bant_authority,
        "bant_need": lead.bant_need,
        "bant_timing": lead.bant_timing,
        "company.domain": company.domain if company else None,
        "company.industry": company.industry if company else None,
        "company.size": company.size if company else None,
        "company.country": company.country if company else None,
    }
    for key, value in (lead.custom_fields or {}).items():
        record[f"custom.{key}"] = value
    return record
