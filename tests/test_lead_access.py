"""Every lead-scoped endpoint of the rep's day refuses a lead the caller cannot see, and changes nothing.

One table for the API and the UI fragments, so a new endpoint that forgets the visibility check shows up here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.pipeline import services as pipeline_services

pytestmark = pytest.mark.django_db

API_CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/v1/leads/{id}/interactions", None),
    ("post", "/api/v1/leads/{id}/interactions", {"kind": "call", "outcome": "connected"}),
    ("get", "/api/v1/leads/{id}/deal", None),
    ("post", "/api/v1/leads/{id}/deal/move", {"stage_key": "contacted"}),
    ("post", "/api/v1/leads/{id}/convert", {}),
    ("post", "/api/v1/leads/{id}/won", {}),
    ("post", "/api/v1/leads/{id}/lost", {"reason": "No budget"}),
    ("get", "/api/v1/leads/{id}/tasks", None),
    ("post", "/api/v1/leads/{id}/tasks", {"kind": "call", "title": "Call", "due_at": "2030-01-01T09:00:00Z"}),
    ("post", "/api/v1/leads/{id}/snooze", {"until": "2030-01-01T09:00:00Z"}),
]
UI_CALLS: list[tuple[str, str, dict[str, str] | None]] = [
    ("get", "/interactions/leads/{id}/panel/", None),
    ("post", "/interactions/leads/{id}/call/", {"outcome": "connected"}),
    ("get", "/pipeline/leads/{id}/panel/", None),
    ("post", "/pipeline/leads/{id}/panel/", {"action": "won"}),
    ("post", "/pipeline/{id}/move/", {"stage_id": "1"}),
    ("get", "/tasks/leads/{id}/panel/", None),
    ("post", "/tasks/leads/{id}/panel/", {"kind": "call", "title": "Call", "when": "in_1h"}),
    ("post", "/inbox/leads/{id}/snooze/", {"choice": "1h"}),
    ("post", "/inbox/leads/{id}/disqualify/", {"reason": "no_budget"}),
]


@pytest.fixture
def world() -> dict[str, Any]:
    team = TeamFactory.create()
    rep = UserFactory.create(role=Role.SALES_REP, teams=[team])
    other = UserFactory.create(role=Role.SALES_REP, teams=[team])
    hidden = LeadFactory.create(owner=other, team=team, phone="+34600111222", email="hidden@example.com")
    pipeline_services.ensure_deal(lead_id=hidden.pk)
    return {"rep": rep, "hidden": hidden}


def _state(lead_id: int) -> tuple[Any, ...]:
    lead = Lead.objects.get(pk=lead_id)
    return (lead.owner_id, lead.lifecycle_stage, lead.outcome, lead.status,
            DomainEvent.objects.filter(lead_id=lead_id).count())  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), API_CALLS)
def test_api_refuses_a_lead_the_rep_cannot_see(world: dict[str, Any], method: str, path: str, body: Any) -> None:
    _, token = account_services.create_api_token(user_email=world["rep"].email, name="t")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    lead_id = world["hidden"].pk
    before = _state(lead_id)
    url = path.format(id=lead_id)
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code in (403, 404), (url, response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json")
    assert _state(lead_id) == before


@pytest.mark.parametrize(("method", "path", "body"), UI_CALLS)
def test_ui_refuses_a_lead_the_rep_cannot_see(world: dict[str, Any], method: str, path: str, body: Any) -> None:
    client = Client()
    client.force_login(world["rep"])
    lead_id = world["hidden"].pk
    before = _state(lead_id)
    url = path.format(id=lead_id)
    response = client.get(url) if method == "get" else client.post(url, body, HTTP_HX_REQUEST="true")
    assert response.status_code in (403, 404), (url, response.status_code, response.content[:200])
    assert _state(lead_id) == before


# The same calls on the rep's own lead reach the endpoint (so a 404 above is the visibility check, not a typo).
@pytest.mark.parametrize(("method", "path", "body"), API_CALLS)
def test_api_control_the_rep_reaches_their_own_lead(world: dict[str, Any], method: str, path: str, body: Any) -> None:
    own = LeadFactory.create(owner=world["rep"], team=world["hidden"].team, phone="+34600333444")
    pipeline_services.ensure_deal(lead_id=own.pk)  # GET /deal answers 404 "no deal yet" otherwise
    _, token = account_services.create_api_token(user_email=world["rep"].email, name="t")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = path.format(id=own.pk)
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code not in (403, 404, 405), (url, response.status_code, response.content[:300])


@pytest.mark.parametrize(("method", "path", "body"), UI_CALLS)
def test_ui_control_the_rep_reaches_their_own_lead(world: dict[str, Any], method: str, path: str, body: Any) -> None:
    own = LeadFactory.create(owner=world["rep"], team=world["hidden"].team, phone="+34600333444")
    client = Client()
    client.force_login(world["rep"])
    url = path.format(id=own.pk)
    response = client.get(url) if method == "get" else client.post(url, body, HTTP_HX_REQUEST="true")
    assert response.status_code not in (403, 404, 405), (url, response.status_code, response.content[:300])
