"""Survivorship of lead values across submissions (pure, no database)."""

from hypothesis import given
from hypothesis import strategies as st

from embudo.capture.domain import survivorship
from embudo.capture.domain.normalize import LEAD_FIELDS


def test_merge_values_fills_empty_fields():
    assert survivorship.merge_values({"email": "ana@acme.es"}, {"first_name": "Ana", "email": "ana@acme.es"}) == {
        "first_name": "Ana"
    }


def test_merge_values_never_overwrites_with_empty():
    assert survivorship.merge_values({"phone": "+34600123456", "city": "Madrid"}, {"phone": "", "city": ""}) == {}


def test_merge_values_keeps_the_first_known_identity():
    existing = {"first_name": "Ana", "last_name": "López", "email": "ana@acme.es", "whatsapp_id": "+34600123456"}
    incoming = {"first_name": "Anita", "last_name": "Pérez", "email": "ana@other.es", "whatsapp_id": "+34600999888"}
    assert survivorship.merge_values(existing, incoming) == {}


def test_merge_values_takes_the_newest_contact_and_company_values():
    existing = {
        "phone": "+34600123456",
        "job_title": "Analyst",
        "company_name": "Acme",
        "city": "Madrid",
        "language": "es",
    }
    incoming = {
        "phone": "+34600999888",
        "job_title": "CTO",
        "company_name": "Acme",
        "city": "Sevilla",
        "language": "en",
    }
    assert survivorship.merge_values(existing, incoming) == {
        "phone": "+34600999888",
        "job_title": "CTO",
        "city": "Sevilla",
        "language": "en",
    }


def test_merge_values_treats_unlisted_fields_as_contact_fields():
    assert survivorship.merge_values({"time_zone": "Europe/Madrid"}, {"time_zone": "Atlantic/Canary"}) == {
        "time_zone": "Atlantic/Canary"
    }


def test_every_lead_field_has_a_survivorship_rule():
    assert set(LEAD_FIELDS) <= set(survivorship.SURVIVORSHIP)


values = st.dictionaries(st.sampled_from(LEAD_FIELDS), st.sampled_from(["", "a", "b", "Ana", "+34600123456"]))


@given(values, values)
def test_merge_values_never_empties_a_known_field(existing, incoming):
    changes = survivorship.merge_values(existing, incoming)
    assert all(changes.values())
    assert all(changes[name] != existing.get(name, "") for name in changes)
    merged = {**existing, **changes}
    assert all(merged[name] for name, value in existing.items() if value)
    assert survivorship.merge_values(merged, incoming) == {}


def test_inferred_values_fill_gaps_but_never_replace_a_known_value():
    existing = {"country": "MX", "time_zone": "America/Mexico_City", "language": ""}
    incoming = {"country": "ES", "time_zone": "Europe/Madrid", "language": "en"}
    assert survivorship.merge_values(existing, incoming, inferred=("country", "time_zone", "language")) == {
        "language": "en"
    }
    # The same values stated by the person follow the contact rule.
    assert survivorship.merge_values(existing, incoming) == incoming


def test_the_email_kind_stays_with_the_email_the_lead_keeps():
    existing = {"email": "ana@acme.es", "email_domain_kind": "business"}
    assert survivorship.merge_values(existing, {"email": "ana@gmail.com", "email_domain_kind": "free"}) == {}


@given(values, values, st.sets(st.sampled_from(LEAD_FIELDS)))
def test_inferred_fields_change_only_empty_ones(existing, incoming, inferred):
    changes = survivorship.merge_values(existing, incoming, inferred=inferred)
    assert all(not existing.get(name) for name in changes if name in inferred)
    assert changes.items() <= survivorship.merge_values(existing, incoming).items()
