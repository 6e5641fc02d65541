"""API error shape for requests no endpoint accepts: a wrong method is JSON like every other error."""

from __future__ import annotations

import pytest
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_wrong_method_on_an_api_endpoint_is_json_with_allow_header() -> None:
    user = UserFactory.create(role=Role.ADMIN)
    _, token = account_services.create_api_token(user_email=user.email, name="tests")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.put("/api/v1/leads", "{}", content_type="application/json")

    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "method_not_allowed"
    assert body["fields"] == {}
    assert "PUT is not allowed here." in body["message"]
    assert "GET" in response["Allow"] and "GET" in body["message"]


def test_wrong_method_on_a_page_keeps_the_plain_405() -> None:
    response = Client().post("/healthz")

    assert response.status_code == 405
    assert not response["Content-Type"].startswith("application/json")
