"""Account reads."""

from __future__ import annotations

from typing import Any

import pytest

from embudo.accounts import selectors
from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_users_visible_to_depend_on_role() -> None:
    iberia, mexico = TeamFactory.create(), TeamFactory.create()
    rep = UserFactory.create(role=Role.SALES_REP, teams=[iberia])
    mate = UserFactory.create(role=Role.SALES_REP, teams=[iberia, mexico])
    stranger = UserFactory.create(role=Role.SALES_REP, teams=[mexico])
    UserFactory.create(role=Role.SALES_REP, teams=[iberia], is_active=False)
    marketing = UserFactory.create(role=Role.MARKETING)

    assert set(selectors.list_users_visible_to(rep)) == {rep, mate}
    assert set(selectors.list_users_visible_to(marketing)) == {rep, mate, stranger, marketing}


def test_team_ids_are_read_once_per_user_object(django_assert_num_queries: Any) -> None:
    team = TeamFactory.create()
    user = UserFactory.create(teams=[team])
    with django_assert_num_queries(1):
        assert selectors.team_ids_of(user) == [team.pk]
        assert selectors.team_ids_of(user) == [team.pk]


def test_get_user_by_email_ignores_case_and_spaces() -> None:
    user = UserFactory.create(email="ana@example.com")
    assert selectors.get_user_by_email("  ANA@example.com ") == user
    assert selectors.get_user_by_email("nobody@example.com") is None
