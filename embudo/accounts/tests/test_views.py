from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from embudo.accounts.models import ApiToken, Role
from embudo.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def test_login_page_renders_email_and_password_fields(client: Client) -> None:
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="email"' in html
    assert 'type="password"' in html


def test_login_with_email_and_password_lands_in_the_inbox(client: Client) -> None:
    UserFactory(email="ana@example.com")
    response = client.post(reverse("accounts:login"), {"username": "Ana@Example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("inbox:home")


def test_login_with_wrong_password_shows_error(client: Client) -> None:
    UserFactory(email="ana@example.com")
    response = client.post(reverse("accounts:login"), {"username": "ana@example.com", "password": "nope"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_app_shell_shows_user_name_role_and_post_logout(client: Client) -> None:
    user = UserFactory(full_name="Lucía Pérez", role=Role.SALES_REP)
    client.force_login(user)
    html = client.get(reverse("leads:list")).content.decode()
    assert "Lucía Pérez" in html
    assert "Sales rep" in html
    assert f'method="post" action="{reverse("accounts:logout")}"' in html
    assert 'class="skip-link"' in html


def test_logout_is_a_post(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert client.get(reverse("leads:list")).status_code == 302


def test_set_language_switches_the_ui_to_spanish_and_back(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("accounts:set_language"), {"language": "es", "next": "/leads/?search=x"})
    assert response.status_code == 302
    assert response["Location"] == "/leads/?search=x"
    user.refresh_from_db()
    assert user.language == "es"
    html = client.get(reverse("leads:list")).content.decode()
    assert '<html lang="es"' in html
    assert "Clientes potenciales" in html
    client.post(reverse("accounts:set_language"), {"language": "en", "next": "/leads/"})
    assert "Clientes potenciales" not in client.get(reverse("leads:list")).content.decode()


def test_set_language_ignores_foreign_next_url(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.post(reverse("accounts:set_language"), {"language": "es", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_password_change_page_renders(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.get(reverse("accounts:password_change"))
    assert response.status_code == 200
    assert 'name="new_password1"' in response.content.decode()


def test_tokens_page_creates_a_token_and_shows_it_once(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("accounts:tokens"), {"name": "Zapier"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=user)
    html = response.content.decode()
    assert token.name == "Zapier"
    assert f'value="{token.prefix}' in html  # the clear token starts with its display prefix
    again = client.get(reverse("accounts:tokens")).content.decode()
    assert "Zapier" in again
    assert 'id="new-token"' not in again


def test_revoke_token_marks_it_revoked(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    client.post(reverse("accounts:tokens"), {"name": "CI"})
    token = ApiToken.objects.get(user=user)
    response = client.post(reverse("accounts:revoke_token", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked" in client.get(reverse("accounts:tokens")).content.decode()


def test_revoke_token_of_another_user_does_nothing(client: Client) -> None:
    owner = UserFactory()
    Client().force_login(owner)
    from embudo.accounts import services

    token, _clear = services.create_api_token(user_email=owner.email, name="theirs")
    client.force_login(UserFactory())
    client.post(reverse("accounts:revoke_token", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_requires_post(client: Client) -> None:
    client.force_login(UserFactory())
    assert client.get(reverse("accounts:revoke_token", args=[1])).status_code == 405
