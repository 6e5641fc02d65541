"""API tokens: Bearer auth, hashed storage, revocation, last-used time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from embudo.accounts import domain, services
from embudo.accounts.models import ApiToken, Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core.exceptions import NotFound

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads"
UNAUTHORIZED = {
    "code": "unauthorized",
    "message": "Send a valid token: Authorization: Bearer <token>.",
    "fields": {},
}


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer"},
        {"HTTP_AUTHORIZATION": "Bearer emb_not-a-real-token"},
        {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
        {"HTTP_AUTHORIZATION": "emb_no-scheme"},
    ],
)
def test_missing_or_invalid_token_is_401_json(headers: dict[str, Any]) -> None:
    response = Client(**headers).get(URL)

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_session_login_does_not_authenticate_the_api() -> None:
    user = UserFactory.create(role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    assert client.get(URL).status_code == 401


def test_valid_token_authenticates_and_records_last_use() -> None:
    user = UserFactory.create(role=Role.ADMIN)
    row, token = services.create_api_token(user_email=user.email.upper(), name="zapier")
    assert row.last_used_at is None

    response = bearer(token).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["email"] == user.email
    row.refresh_from_db()
    assert row.last_used_at is not None
    assert timezone.now() - row.last_used_at < timedelta(seconds=5)


def test_last_used_is_written_at_most_once_a_minute() -> None:
    user = UserFactory.create(role=Role.ADMIN)
    row, token = services.create_api_token(user_email=user.email, name="n")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        bearer(token).get(URL)
        row.refresh_from_db()
        first = row.last_used_at

        traveller.shift(timedelta(seconds=30))
        bearer(token).get(URL)
        row.refresh_from_db()
        assert row.last_used_at == first

        traveller.shift(timedelta(seconds=31))
        bearer(token).get(URL)
        row.refresh_from_db()
        assert first is not None and row.last_used_at is not None
        assert row.last_used_at > first


def test_token_is_stored_only_as_a_hash() -> None:
    user = UserFactory.create()
    row, token = services.create_api_token(user_email=user.email, name="ci")

    assert token.startswith(domain.TOKEN_PREFIX)
    assert row.token_hash == domain.token_hash(token)
    assert token not in {row.token_hash, row.prefix, row.name}
    assert row.prefix == token[: len(row.prefix)]
    stored = ApiToken.objects.filter(pk=row.pk).values().get()
    assert all(token not in str(value) for value in stored.values())


def test_revoked_token_is_401() -> None:
    user = UserFactory.create(role=Role.ADMIN)
    row, token = services.create_api_token(user_email=user.email, name="old")
    assert bearer(token).get(URL).status_code == 200

    services.revoke_api_token(token_id=row.pk, user=user)

    response = bearer(token).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_only_the_owner_can_revoke_a_token() -> None:
    owner, other = UserFactory.create(), UserFactory.create()
    row, token = services.create_api_token(user_email=owner.email, name="mine")

    services.revoke_api_token(token_id=row.pk, user=other)

    row.refresh_from_db()
    assert row.revoked_at is None


def test_token_of_a_deactivated_user_is_401() -> None:
    user = UserFactory.create(role=Role.ADMIN)
    _, token = services.create_api_token(user_email=user.email, name="n")
    user.is_active = False
    user.save()

    assert bearer(token).get(URL).status_code == 401


def test_token_for_unknown_user_is_refused() -> None:
    with pytest.raises(NotFound) as error:
        services.create_api_token(user_email="ghost@example.com", name="n")
    assert error.value.code == "unknown_user"
    assert not ApiToken.objects.exists()


def test_me_lists_the_users_teams() -> None:
    team = TeamFactory.create(name="Iberia", slug="iberia")
    user = UserFactory.create(teams=[team])
    _, token = services.create_api_token(user_email=user.email, name="n")

    body = bearer(token).get("/api/v1/me").json()

    assert body["teams"] == [{"id": team.pk, "name": "Iberia"}]
    assert body["role"] == "sales_rep"
