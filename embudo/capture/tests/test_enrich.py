"""Offline enrichment (pure, no database)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embudo.capture.domain import enrich


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ana@acme.es", "business"),
        ("acme.es", "business"),
        ("ana@gmail.com", "free"),
        ("ANA@Hotmail.ES", "free"),
        ("yahoo.com", "free"),
        ("ana@mailinator.com", "disposable"),
        ("ana@eu.mailinator.com", "disposable"),
        ("ana@0-mail.com", "disposable"),  # on both lists: disposable wins
        ("", ""),
        ("not a domain", ""),
    ],
)
def test_email_domain_kind(value, expected):
    assert enrich.email_domain_kind(value) == expected


@pytest.mark.parametrize(
    ("email", "expected"),
    [("ana@Acme.ES", "acme.es"), ("ana@gmail.com", ""), ("ana@mailinator.com", ""), ("", "")],
)
def test_company_domain_for(email, expected):
    assert enrich.company_domain_for(email) == expected


@pytest.mark.parametrize(
    ("phone", "country", "zone"),
    [
        ("+34911234567", "ES", "Europe/Madrid"),
        ("+34600123456", "ES", "Europe/Madrid"),  # mobile: Madrid or Canary, main zone wins
        ("+525512345678", "MX", "America/Mexico_City"),
        ("+12125550123", "US", "America/New_York"),
        ("+18005551234", "US", ""),  # toll-free: 40 zones, too ambiguous to guess
        ("+573001234567", "CO", "America/Bogota"),
        ("+447700900123", "", ""),
        ("+80012345678", "", ""),  # international freephone: no country
        ("", "", ""),
        ("600123456", "", ""),
    ],
)
def test_country_and_time_zone_from_phone(phone, country, zone):
    assert enrich.country_from_phone(phone) == country
    assert enrich.time_zone_from_phone(phone) == zone


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-ES,es;q=0.9,en;q=0.8", "es"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.5,es;q=0.8", "es"),
        ("es;q=0.2, en;q=0.7", "en"),
        ("es;q=0, en;q=0.1", "en"),  # q=0 means "not acceptable"
        ("EN_gb", "en"),
        ("fr, de", ""),
        ("*", ""),
        ("es;q=abc, en", "en"),
        ("", ""),
    ],
)
def test_language_from_accept_language(header, expected):
    assert enrich.language_from_accept_language(header) == expected


def test_language_from_accept_language_honours_supported():
    assert enrich.language_from_accept_language("fr,es", supported=("fr",)) == "fr"


def test_enrich_fills_what_is_missing_and_says_so():
    result = enrich.enrich(
        {"email": "ana@acme.es", "phone": "+34600123456"}, accept_language="en-US,en;q=0.9", form_language=""
    )
    assert result == enrich.Enrichment(
        email_domain_kind="business",
        is_disposable=False,
        company_domain="acme.es",
        country="ES",
        time_zone="Europe/Madrid",
        language="en",
        filled=("company_domain", "country", "time_zone", "language"),
    )


def test_enrich_keeps_known_values():
    result = enrich.enrich(
        {
            "email": "ana@gmail.com",
            "phone": "+34600123456",
            "country": "MX",
            "company_domain": "acme.mx",
            "language": "es",
        },
        accept_language="en",
    )
    assert result.email_domain_kind == "free"
    assert result.company_domain == "acme.mx"
    assert result.country == "MX"
    assert result.language == "es"
    assert result.filled == ("time_zone",)


def test_enrich_language_prefers_form_then_field_then_browser():
    values = {"language": "en"}
    assert enrich.enrich(values, accept_language="fr", form_language="es-ES").language == "es"
    assert enrich.enrich(values, accept_language="es").language == "en"
    assert enrich.enrich({}, accept_language="es").language == "es"
    assert enrich.enrich({}, form_language="klingon", accept_language="en").language == "en"


def test_enrich_flags_disposable_addresses_and_links_no_company():
    result = enrich.enrich({"email": "x@mailinator.com"})
    assert result.is_disposable
    assert result.email_domain_kind == "disposable"
    assert result.company_domain == ""


def test_enrich_uses_the_whatsapp_number_when_there_is_no_phone():
    result = enrich.enrich({"whatsapp_id": "+525512345678"})
    assert (result.country, result.time_zone) == ("MX", "America/Mexico_City")


def test_enrich_of_nothing_is_empty():
    assert enrich.enrich({}) == enrich.Enrichment()


@given(st.text(max_size=40))
def test_email_domain_kind_never_raises(value):
    assert enrich.email_domain_kind(value) in ("business", "free", "disposable", "")


@given(st.text(max_size=80))
def test_language_from_accept_language_never_raises(header):
    assert enrich.language_from_accept_language(header) in ("", "en", "es")


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_phone_lookups_never_raise(phone):
    assert len(enrich.country_from_phone(phone)) in (0, 2)
    assert "Unknown" not in enrich.time_zone_from_phone(phone)
