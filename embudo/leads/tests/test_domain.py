"""Pure lead rules, tested without a database."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from embudo.leads import domain

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)


@given(st.text())
def test_clean_text_is_idempotent_and_trimmed(value: str) -> None:
    cleaned = domain.clean_text(value)
    assert domain.clean_text(cleaned) == cleaned
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert "\n" not in cleaned and "\t" not in cleaned


def test_clean_text_collapses_inner_whitespace() -> None:
    assert domain.clean_text("  Ana \t María\n López ") == "Ana María López"


@given(st.text(max_size=80))
@example("Ana@Example.COM")
@example("ANA.LOPEZ@EXAMPLE.ES ")
@example("josé@correo.es")
@example("a@b")
@example("@")
@example("\x00@example.com")
def test_normalize_email_only_raises_value_error_and_is_idempotent(value: str) -> None:
    try:
        normalized = domain.normalize_email(value)
    except ValueError:
        return
    assert normalized == normalized.lower()
    assert normalized == normalized.strip()
    assert domain.normalize_email(normalized) == normalized
    assert normalized == "" or "@" in normalized


@given(st.from_regex(r"[a-zA-Z0-9._%+-]{1,20}@[a-zA-Z0-9-]{1,20}\.(com|es|mx|org)", fullmatch=True))
def test_normalize_email_accepts_plain_addresses_and_lower_cases_them(value: str) -> None:
    try:
        normalized = domain.normalize_email(value)
    except ValueError:
        return  # e.g. a local part of dots only; the property is that it never crashes otherwise
    assert normalized == value.lower()


@pytest.mark.parametrize("value", ["not-an-email", "ana@", "@example.com", "ana@@example.com", "ana@exa mple.com"])
def test_normalize_email_rejects_invalid(value: str) -> None:
    with pytest.raises(ValueError):
        domain.normalize_email(value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+34 600 11 22 33", "+34600112233"),
        ("0034 600-11-22-33", "+34600112233"),
        ("(55) 1234-5678", "5512345678"),
        ("600.11.22.33", "600112233"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_phone_examples(raw: str, expected: str) -> None:
    assert domain.normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["call me", "12345", "+1234567890123456", "600 11 22 33 ext 4", "++34600112233x"])
def test_normalize_phone_rejects_non_phones(raw: str) -> None:
    with pytest.raises(ValueError):
        domain.normalize_phone(raw)


@given(st.text(alphabet="+0123456789 ().-/", max_size=30) | st.text(max_size=30))
def test_normalize_phone_is_idempotent_and_keeps_only_digits(value: str) -> None:
    try:
        normalized = domain.normalize_phone(value)
    except ValueError:
        return
    assert domain.normalize_phone(normalized) == normalized
    assert normalized.lstrip("+").isdigit() or normalized == ""
    assert normalized == "" or 6 <= len(normalized.lstrip("+")) <= 15


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("  Ana   LÓPEZ ", "ana lopez"),
        ("+34 600 11", "3460011"),
        ("0034 600 112 233", "34600112233"),
        ("600-11", "60011"),
        ("123", "123"),  # too short to be a phone fragment: plain text
        ("ana@example.com", "ana@example.com"),
        ("", ""),
    ],
)
def test_search_terms_examples(query: str, terms: str) -> None:
    assert domain.search_terms(query) == terms


@given(st.text(max_size=40))
def test_search_terms_are_lower_case_and_clean(query: str) -> None:
    terms = domain.search_terms(query)
    assert terms == terms.lower() or terms.isdigit()
    assert terms == domain.clean_text(terms)


@given(st.from_regex(r"\+?[0-9][0-9 .\-]{5,20}", fullmatch=True))
def test_search_terms_find_a_normalized_phone_from_its_typed_form(typed: str) -> None:
    try:
        stored = domain.normalize_phone(typed)
    except ValueError:
        return
    assert domain.search_terms(typed) in stored


@given(
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), json_scalars),
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), json_scalars),
)
def test_changed_fields_lists_exactly_the_differing_keys_of_after(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    diff = domain.changed_fields(before, after)
    assert set(diff) == {k for k, v in after.items() if before.get(k) != v}
    for key, (old, new) in diff.items():
        assert old == before.get(key)
        assert new == after[key]
    assert domain.changed_fields(before, before) == {}
    assert domain.changed_fields({**before, **after}, after) == {}


def test_clean_lead_fields_normalizes_and_collects_every_error() -> None:
    cleaned, errors = domain.clean_lead_fields(
        {
            "first_name": "  Ana ",
            "email": "ANA@EXAMPLE.ES",
            "country": "es",
            "language": "ES",
            "phone": "nope",
            "status": "won",
            "last_name": 7,
            "city": None,
        }
    )

    assert cleaned == {"first_name": "Ana", "email": "ana@example.es", "country": "ES", "language": "es", "city": ""}
    assert set(errors.errors) == {"phone", "status", "last_name"}
    assert bool(errors)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ({}, True),
        (None, True),
        ({"plan": "pro", "seats": 5, "tags": ["a"]}, True),
        ([1], False),
        ("text", False),
        ({"": 1}, False),
        ({"k" * 65: 1}, False),
        ({f"k{i}": i for i in range(101)}, False),
        ({"big": "x" * 10_001}, False),
    ],
)
def test_custom_fields_limits(value: object, ok: bool) -> None:
    cleaned, errors = domain.clean_lead_fields({"custom_fields": value})
    assert (not errors) is ok
    if ok:
        assert cleaned["custom_fields"] == (value or {})


@given(st.dictionaries(st.sampled_from(domain.TEXT_FIELDS), st.text(max_size=300) | st.none() | st.integers()))
def test_clean_lead_fields_never_raises_and_respects_max_lengths(data: dict[str, Any]) -> None:
    cleaned, errors = domain.clean_lead_fields(data)
    assert set(cleaned) | set(errors.errors) == set(data)
    assert not set(cleaned) & set(errors.errors)
    for field, value in cleaned.items():
        assert len(value) <= domain.MAX_LENGTHS[field]


def test_has_identity() -> None:
    assert not domain.has_identity({"job_title": "CTO", "email": ""})
    assert domain.has_identity({"phone": "+34600112233"})
    assert domain.has_identity({"last_name": "López"})


def test_international_prefix_does_not_count_as_digits() -> None:
    with pytest.raises(ValueError):
        domain.normalize_phone("000000")  # would have been stored as "+0000"
    with pytest.raises(ValueError):
        domain.normalize_phone("0 000 00")  # separators do not hide the "00" prefix


def test_nul_characters_are_refused_because_postgresql_cannot_store_them() -> None:
    _, errors = domain.clean_lead_fields({"city": "Li\x00ma", "custom_fields": {"k": "\x00"}})
    assert set(errors.errors) == {"city", "custom_fields"}
    assert not domain.can_match("ok", "a\x00")
    assert domain.can_match("ok", "", None)


@pytest.mark.parametrize(
    ("domain_name", "expected"),
    [
        ("ferreteria-ruiz.es", "Ferreteria Ruiz"),
        ("acme.com", "Acme"),
        ("acme.com.mx", "Acme"),
        ("northwind_traders.co.uk", "Northwind Traders"),
        ("mail.globex.io", "Globex"),
        ("localhost", "Localhost"),
    ],
)
def test_company_name_from_domain_is_readable(domain_name: str, expected: str) -> None:
    assert domain.company_name_from_domain(domain_name) == expected


def test_normalize_phone_reads_the_international_prefix_through_separators() -> None:
    # Found by hypothesis: "0/00000" used to give "000000", which did not normalize to itself.
    with pytest.raises(ValueError):
        domain.normalize_phone("0/00000")
    assert domain.normalize_phone("00 34 600 11 22 33") == "+34600112233"
    assert domain.normalize_phone("0/034 600 11 22 33") == "+34600112233"
