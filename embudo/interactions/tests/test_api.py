"""GET/POST /api/v1/leads/{id}/interactions and GET /api/v1/interactions/{id}."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import User
from embudo.core import clock
from embudo.interactions import services
from embudo.interactions.models import Interaction
from embudo.interactions.tests.conftest import World
from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user: User):
        _, token = account_services.create_api_token(user_email=user.email, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(path, json.dumps(body), content_type="application/json")


def url(world: World) -> str:
    return f"/api/v1/leads/{world.lead.pk}/interactions"


def test_post_a_call_answers_201_with_the_interaction(world: World) -> None:
    at = (clock.now() - timedelta(minutes=20)).isoformat()
    response = Api(world.rep).post(url(world), {"kind": "call", "outcome": "connected", "duration_seconds": 95,
                                                "notes": "Budget confirmed", "occurred_at": at})  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("lead_id", "kind", "outcome", "duration_seconds", "body", "direction")} == {
        "lead_id": world.lead.pk, "kind": "call", "outcome": "connected", "duration_seconds": 95,
        "body": "Budget confirmed", "direction": "outbound"}  # fmt: skip
    assert body["actor"] == {"id": world.rep.pk, "email": "rita@example.com", "full_name": "Rita Rep"}
    assert Interaction.objects.get().pk == body["id"]


def test_post_each_other_kind(world: World) -> None:
    api = Api(world.rep)
    email = api.post(url(world), {"kind": "email", "subject": "Proposal", "body": "Attached"}).json()
    assert (email["delivery_status"], email["to_address"]) == ("queued", "lola@acme.example")
    assert api.post(url(world), {"kind": "meeting", "outcome": "no_show"}).status_code == 201
    whatsapp = api.post(url(world), {"kind": "whatsapp", "text": "Hola", "direction": "inbound"}).json()
    assert (whatsapp["kind"], whatsapp["direction"], whatsapp["to_address"]) == ("whatsapp", "inbound", "+34600111222")
    polled = api.get(f"/api/v1/interactions/{email['id']}")
    assert polled.status_code == 200 and polled.json()["delivery_status"] == "queued"


def test_field_errors_are_422(world: World) -> None:
    api = Api(world.rep)
    future = (clock.now() + timedelta(days=1)).isoformat()
    response = api.post(url(world), {"kind": "call", "outcome": "maybe", "occurred_at": future})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["fields"]) == {"outcome", "occurred_at"}
    response = api.post(url(world), {"kind": "whatsapp", "text": "Hola", "subject": "x", "duration_seconds": 3})
    assert response.status_code == 422
    assert response.json()["fields"] == {"duration_seconds": ["Not used for this kind of interaction."],
                                         "subject": ["Not used for this kind of interaction."]}  # fmt: skip
    response = api.post(url(world), {"kind": "fax"})
    assert response.status_code == 422 and "kind" in response.json()["fields"]
    response = api.post(url(world), {"kind": "call", "outcome": "connected", "occurred_at": "2026-01-01T10:00:00"})
    assert response.json()["fields"] == {"occurred_at": ["Give the time with its time zone."]}
    assert not Interaction.objects.exists()


def test_leads_you_cannot_see_are_404(world: World) -> None:
    other = Api(world.other_rep)
    assert other.post(url(world), {"kind": "call", "outcome": "connected"}).status_code == 404
    assert other.get(url(world)).status_code == 404
    mine = services.log_call(actor=world.rep, lead_id=world.lead.pk, outcome="busy")
    response = other.get(f"/api/v1/interactions/{mine.pk}")
    assert response.status_code == 404 and response.json()["code"] == "interaction_not_found"
    assert Api(world.manager).get(f"/api/v1/interactions/{mine.pk}").status_code == 200


def test_list_is_newest_first_with_keyset_pages_and_a_kind_filter(
    world: World, django_assert_max_num_queries: Any
) -> None:
    now = clock.now()
    for n in range(5):
        services.log_call(actor=world.rep, lead_id=world.lead.pk, outcome="connected",
                          occurred_at=now - timedelta(hours=n))  # fmt: skip
    services.log_whatsapp(actor=world.rep, lead_id=world.lead.pk, text="Hola")
    LeadFactory(owner=world.rep)  # another lead's interactions never show
    api = Api(world.rep)
    with django_assert_max_num_queries(6):
        first = api.get(url(world), limit=4).json()
    assert [i["kind"] for i in first["items"]] == ["whatsapp", "call", "call", "call"]
    second = api.get(url(world), limit=4, cursor=first["next_cursor"]).json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    times = [i["occurred_at"] for i in first["items"] + second["items"]]
    assert times == sorted(times, reverse=True)
    assert [i["kind"] for i in api.get(url(world), kind="whatsapp").json()["items"]] == ["whatsapp"]
    assert api.get(url(world), cursor="nope").status_code == 422
    assert api.get(url(world), limit=0).status_code == 422
    assert api.get(url(world), kind="fax").status_code == 422


def test_retry_a_failed_email(world: World) -> None:
    email = services.send_email(actor=world.rep, lead_id=world.lead.pk, subject="Hi", body="Hello")
    api = Api(world.rep)
    assert api.post(f"/api/v1/interactions/{email.pk}/retry", {}).status_code == 422  # not failed
    Interaction.objects.filter(pk=email.pk).update(delivery_status="failed")
    response = api.post(f"/api/v1/interactions/{email.pk}/retry", {})
    assert response.status_code == 200 and response.json()["delivery_status"] == "queued"


def test_an_email_exchanged_elsewhere_is_logged_without_sending(world: World) -> None:
    api = Api(world.rep)
    at = (clock.now() - timedelta(hours=3)).isoformat()
    body = {"kind": "email", "send": False, "subject": "Re: pricing", "body": "Looks good", "direction": "inbound",
            "occurred_at": at}  # fmt: skip
    logged = api.post(url(world), body).json()
    assert (logged["delivery_status"], logged["direction"]) == ("", "inbound")
    response = api.post(url(world), {"kind": "email", "subject": "Hi", "body": "Hello", "direction": "inbound"})
    assert response.status_code == 422
    assert response.json()["fields"] == {"direction": ["Only for an email logged with send=false."]}
