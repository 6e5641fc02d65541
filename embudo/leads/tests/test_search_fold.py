"""Accent-insensitive search: the query and the stored haystack are folded by the same rule."""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.leads import domain, selectors
from embudo.leads.selectors import LeadFilters
from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40))
def test_postgres_folds_exactly_like_the_query_does(text: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT embudo_search_fold(lower(%s))", [text])
        (folded,) = cursor.fetchone()
    # lower() may differ between Python and PostgreSQL for a few non-Latin letters; folding may not.
    with connection.cursor() as cursor:
        cursor.execute("SELECT lower(%s)", [text])
        (lowered,) = cursor.fetchone()
    assert folded == lowered.translate(str.maketrans(domain.SEARCH_FOLD_FROM, domain.SEARCH_FOLD_TO))


def test_the_migration_function_uses_the_domain_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT embudo_search_fold(%s)", [domain.SEARCH_FOLD_FROM])
        (folded,) = cursor.fetchone()
    assert folded == domain.SEARCH_FOLD_TO


def test_fold_table_is_one_to_one_and_only_lower_case() -> None:
    assert len(domain.SEARCH_FOLD_FROM) == len(domain.SEARCH_FOLD_TO)
    assert domain.SEARCH_FOLD_FROM.lower() == domain.SEARCH_FOLD_FROM
    assert domain.fold_for_search("Núñez GARCÍA Çelik Ødegaard") == "nunez garcia celik odegaard"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("garcia", "García"), ("GARCÍA", "Garcia"), ("nunez", "Núñez"), ("josé", "JOSE"), ("muller", "Müller")],
)
def test_search_ignores_accents_both_ways(typed: str, stored: str) -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    wanted = LeadFactory.create(last_name=stored, first_name="Ana", email="", company_name="")
    LeadFactory.create(last_name="Pérez", first_name="Luis", email="", company_name="")

    page = selectors.list_leads_visible_to(admin, filters=LeadFilters(search=typed), limit=10)

    assert [lead.pk for lead in page.items] == [wanted.pk]


_name_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)


@settings(max_examples=40, deadline=None)
@given(first=_name_text, last=_name_text, company=_name_text, phone=st.from_regex(r"\+?[0-9 ]{0,15}", fullmatch=True))
def test_stored_haystack_is_the_folded_name_email_company_and_phone(
    first: str, last: str, company: str, phone: str
) -> None:
    """``embudo_lead_search_text`` (migration 0010) keeps the haystack of 0006: the five values, lower case,
    folded, one space apart, empty ones included."""
    lead = LeadFactory.create(first_name=first, last_name=last, company_name=company, phone=phone)
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_text, lower(%s) FROM leads_lead WHERE id = %s",
                       [f"{first} {last} {lead.email} {company} {phone}", lead.pk])  # fmt: skip
        stored, lowered = cursor.fetchone()
    assert stored == lowered.translate(str.maketrans(domain.SEARCH_FOLD_FROM, domain.SEARCH_FOLD_TO))


def test_haystack_follows_a_name_edit_but_not_a_score_update() -> None:
    lead = LeadFactory.create(first_name="José", last_name="Núñez", email="jn@example.com", company_name="", phone="")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE leads_lead SET score = 40 WHERE id = %s RETURNING search_text", [lead.pk])
        assert cursor.fetchone()[0] == "jose nunez jn@example.com  "
        cursor.execute("UPDATE leads_lead SET last_name = 'Muñoz' WHERE id = %s RETURNING search_text", [lead.pk])
        assert cursor.fetchone()[0] == "jose munoz jn@example.com  "


# Mostly ASCII with some accented, upper-case and non-Latin letters, as names and companies are; None as SQL NULL.
_mixed_text = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from("abcXYZ .@-+019ÁáÑñÜüØøŞşÇçΣσςДдİıẞß"), max_size=12),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
)


@settings(max_examples=80, deadline=None)
@given(values=st.tuples(_mixed_text, _mixed_text, _mixed_text, _mixed_text, _mixed_text))
def test_haystack_function_equals_the_whole_haystack_expression(
    values: tuple[str | None, str | None, str | None, str | None, str | None],
) -> None:
    """Migration 0015 lowers and folds each value on its own (and skips the fold for ASCII values): the same
    string as lowering and folding the joined haystack, as migrations 0006 and 0010 stored it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT embudo_lead_search_text(%s, %s, %s, %s, %s), embudo_search_fold(lower(coalesce(%s, '') || ' ' "
            "|| coalesce(%s, '') || ' ' || coalesce(%s, '') || ' ' || coalesce(%s, '') || ' ' || coalesce(%s, '')))",
            [*values, *values],
        )
        per_value, whole = cursor.fetchone()
    assert per_value == whole


def test_haystack_function_is_inlined_where_the_column_is_computed() -> None:
    """Inlined, the fold of an ASCII value is skipped per row; a call would run the SQL function each time."""
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (VERBOSE) SELECT embudo_lead_search_text(first_name, last_name, email, company_name, phone) "
            "FROM leads_lead"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "embudo_lead_search_text" not in plan
    assert "octet_length" in plan
