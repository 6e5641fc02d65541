"""GET /notifications (unread first), mark read, read-all, GET/PUT preferences."""

from __future__ import annotations

import pytest
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import User
from embudo.accounts.tests.factories import UserFactory
from embudo.notifications import services

pytestmark = pytest.mark.django_db


def token_of(user: User) -> dict[str, str]:
    _row, token = account_services.create_api_token(user_email=user.email, name="t")
    return {"Authorization": f"Bearer {token}"}


def test_list_unread_first_and_mark_read(client: Client) -> None:
    rep = UserFactory.create()
    headers = token_of(rep)
    first = services.notify(user_id=rep.pk, kind="lead_hot", title="first")
    services.notify(user_id=rep.pk, kind="lead_hot", title="second")
    services.notify(user_id=UserFactory.create().pk, kind="lead_hot", title="not mine")

    read = client.post(f"/api/v1/notifications/{first}/read", headers=headers)
    assert read.status_code == 200 and read.json()["read_at"]
    body = client.get("/api/v1/notifications?limit=1", headers=headers).json()
    assert [n["title"] for n in body["items"]] == ["second"]
    assert body["unread"] == 1 and body["next_offset"] == 1
    body = client.get("/api/v1/notifications?offset=1", headers=headers).json()
    assert [n["title"] for n in body["items"]] == ["first"]

    assert client.post("/api/v1/notifications/read-all", headers=headers).json() == {"marked": 1}
    assert client.post("/api/v1/notifications/999999/read", headers=headers).status_code == 404
    assert client.get("/api/v1/notifications?limit=0", headers=headers).status_code == 422


def test_preferences_roundtrip(client: Client) -> None:
    rep = UserFactory.create()
    headers = token_of(rep)
    prefs = {p["kind"]: p for p in client.get("/api/v1/notifications/preferences", headers=headers).json()}
    assert prefs["lead_assigned"] == {"kind": "lead_assigned", "in_app": True, "email": True}
    response = client.put("/api/v1/notifications/preferences", [{"kind": "lead_assigned", "in_app": False,
                          "email": False}], content_type="application/json", headers=headers)  # fmt: skip
    assert response.status_code == 200
    prefs = {p["kind"]: p for p in response.json()}
    assert prefs["lead_assigned"]["email"] is False and prefs["lead_hot"]["in_app"] is True
    bad = client.put("/api/v1/notifications/preferences", [{"kind": "nope", "in_app": True, "email": True}],
                     content_type="application/json", headers=headers)  # fmt: skip
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_preference"
