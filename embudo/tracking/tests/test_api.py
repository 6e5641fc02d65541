"""POST /api/v1/events and /api/v1/visitors/identify end to end (token auth, per-item results)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import Role, User
from embudo.accounts.tests.factories import UserFactory
from embudo.core import clock
from embudo.core.models import DomainEvent
from embudo.leads.tests.factories import LeadFactory
from embudo.tracking.models import Visitor

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user: User):
        _, token = account_services.create_api_token(user_email=user.email, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def post(self, path: str, body: Any) -> Any:
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.post(path, data, content_type="application/json")


@pytest.fixture
def api() -> Api:
    return Api(UserFactory.create(role=Role.MARKETING))


def test_single_event(api: Api, score_calls: list[tuple[list[int], str]]) -> None:
    lead = LeadFactory.create()
    response = api.post("/api/v1/events", {"type": "demo_requested", "lead_id": lead.pk, "properties": {"plan": "pro"}})
    assert response.status_code == 200, response.content
    assert response.json() == {"stored": 1, "duplicates": 0, "rejected": 0,
                               "results": [{"index": 0, "status": "stored", "id": "", "lead_id": lead.pk,
                                            "errors": {}}]}  # fmt: skip
    event = DomainEvent.objects.get(type="activity.demo_requested")
    assert (event.lead_id, event.payload["properties"], event.payload["source"]) == (lead.pk, {"plan": "pro"}, "api")
    assert score_calls == [([lead.pk], "activity")]


def test_batch_with_per_item_errors_is_207(api: Api) -> None:
    lead = LeadFactory.create(email="ana@acme.example")
    future = (clock.now() + timedelta(minutes=10)).isoformat()
    response = api.post("/api/v1/events", {"events": [
        {"type": "email_opened", "email": "ANA@acme.example", "id": "m-1"},
        {"type": "page_view", "visitor_id": "anon-visitor-1", "properties": {"path": "/pricing"}},
        {"type": "page_view", "lead_id": lead.pk, "timestamp": future, "id": "m-2"},
        {"type": "email_clicked", "email": "unknown@else.example"},
        {"type": "Not A Slug", "lead_id": lead.pk},
    ]})  # fmt: skip
    assert response.status_code == 207, response.content
    body = response.json()
    assert (body["stored"], body["rejected"]) == (2, 3)
    results = body["results"]
    assert [r["status"] for r in results] == ["stored", "stored", "rejected", "rejected", "rejected"]
    assert results[0]["lead_id"] == lead.pk and results[1]["lead_id"] is None
    assert results[2] == {"index": 2, "status": "rejected", "id": "m-2", "lead_id": None,
                          "errors": {"timestamp": ["The timestamp is more than 5 minutes in the future."]}}  # fmt: skip
    assert "email" in results[3]["errors"] and "type" in results[4]["errors"]


def test_retrying_a_batch_is_idempotent(api: Api) -> None:
    lead = LeadFactory.create()
    batch = {"events": [{"type": "webinar_attended", "lead_id": lead.pk, "id": f"w{i}"} for i in range(5)]}
    assert api.post("/api/v1/events", batch).json()["stored"] == 5
    again = api.post("/api/v1/events", batch)
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 5)
    assert DomainEvent.objects.filter(type="activity.webinar_attended").count() == 5


def test_single_rejected_event_is_422(api: Api) -> None:
    response = api.post("/api/v1/events", {"type": "page_view"})
    assert response.status_code == 422
    assert response.json()["fields"] == {"lead_id": ["Give exactly one of lead_id, email or visitor_id."]}


def test_malformed_bodies_are_422(api: Api) -> None:
    assert api.post("/api/v1/events", "{not json").status_code == 422
    too_many = {"events": [{"type": "page_view", "lead_id": 1}] * 1001}
    response = api.post("/api/v1/events", too_many)
    assert response.status_code == 422 and "events" in response.json()["fields"]
    assert api.post("/api/v1/events", {"events": []}).status_code == 422
    both = api.post("/api/v1/events", {"events": [{"type": "page_view", "lead_id": 1}], "type": "page_view"})
    assert both.status_code == 422
    assert not DomainEvent.objects.filter(type__startswith="activity.").exists()


def test_auth_and_roles() -> None:
    anonymous = Client().post("/api/v1/events", "{}", content_type="application/json")
    assert anonymous.status_code == 401
    rep = Api(UserFactory.create(role=Role.SALES_REP))
    response = rep.post("/api/v1/events", {"type": "page_view", "visitor_id": "anon-visitor-1"})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_identify_through_the_api(api: Api) -> None:
    lead = LeadFactory.create(email="bea@acme.example")
    api.post("/api/v1/events", {"events": [{"type": "page_view", "visitor_id": "anon-visitor-1"}] * 2})
    response = api.post("/api/v1/visitors/identify", {"visitor_id": "anon-visitor-1", "email": "Bea@acme.example"})
    assert response.status_code == 200, response.content
    assert response.json() == {"visitor_id": "anon-visitor-1", "lead_id": lead.pk, "events_moved": 2}
    assert Visitor.objects.get(pk="anon-visitor-1").lead_id == lead.pk
    missing = api.post("/api/v1/visitors/identify", {"visitor_id": "anon-visitor-1", "email": "no@one.example"})
    assert missing.status_code == 404
