"""Account writes: users with roles and teams, teams."""

from __future__ import annotations

import pytest

from embudo.accounts import services
from embudo.accounts.exceptions import InvalidRole
from embudo.accounts.models import Team, User

pytestmark = pytest.mark.django_db


def test_create_user_normalizes_email_and_joins_teams() -> None:
    user = services.create_user(
        email="  Rep@Example.COM ", role="sales_rep", password="a long passphrase", team_names=["Iberia", "Mexico"]
    )
    assert user.email == "rep@example.com"
    assert user.check_password("a long passphrase")
    assert sorted(user.teams.values_list("name", flat=True)) == ["Iberia", "Mexico"]
    assert not user.is_staff and not user.is_superuser


def test_create_user_twice_updates_the_same_user() -> None:
    first = services.create_user(email="x@example.com", role="sales_rep", password="first passphrase", full_name="X")
    again = services.create_user(email="X@example.com", role="admin", password=None)

    assert again.pk == first.pk
    assert User.objects.count() == 1
    again.refresh_from_db()
    assert again.role == "admin" and again.is_staff and again.is_superuser
    assert again.full_name == "X"
    assert again.check_password("first passphrase")


def test_create_user_rejects_unknown_roles() -> None:
    with pytest.raises(InvalidRole) as error:
        services.create_user(email="x@example.com", role="owner", password=None)
    assert error.value.code == "invalid_role"
    assert "role" in error.value.fields
    assert not User.objects.exists()


def test_ensure_team_is_idempotent() -> None:
    a = services.ensure_team(name="Norte Grande")
    b = services.ensure_team(name="Norte Grande")
    assert a.pk == b.pk
    assert a.slug == "norte-grande"
    assert Team.objects.count() == 1


def test_set_language() -> None:
    user = services.create_user(email="x@example.com", role="marketing", password=None)
    services.set_language(user=user, language="es")
    user.refresh_from_db()
    assert user.language == "es"
