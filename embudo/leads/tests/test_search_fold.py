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
