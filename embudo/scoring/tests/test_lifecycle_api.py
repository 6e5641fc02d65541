"""POST /api/v1/leads/{id}/lifecycle and PUT /api/v1/leads/{id}/bant: moves, permissions, field errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import path
from ninja import NinjaAPI

from config import api as config_api
from config import urls as config_urls
from embudo.accounts import services as account_services
from embudo.accounts.api import BearerToken
from embudo.accounts.models import Role, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring.api_lifecycle import router

# Until config/api.py mounts the router, these tests serve it from an API of their own (same auth and
# error handlers) in front of the project's URLs.
_api = NinjaAPI(urls_namespace="lifecycle_api_tests", auth=BearerToken())
_api.add_router("/", router)
for _exc, _handler in config_api.api._exception_handlers.items():
    _api.add_exception_handler(_exc, _handler)
urlpatterns = [path("api/v1/", _api.urls), *config_urls.urlpatterns]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class Api:
    def __init__(self, user: User):
        _, token = account_services.create_api_token(user_email=user.email, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def send(self, method: str, url: str, body: Any) -> Any:
        return getattr(self.client, method)(url, json.dumps(body), content_type="application/json")


def test_a_rep_disqualifies_their_lead_with_a_reason() -> None:
    rep = UserFactory(role=Role.SALES_REP)
    lead = LeadFactory(owner=rep, lifecycle_stage="mql")
    response = Api(rep).send(
        "post",
        f"/api/v1/leads/{lead.pk}/lifecycle",
        {"stage": "disqualified", "reason": "competitor", "note": "Chose X"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["lifecycle_stage"], body["lifecycle_reason"]) == ("disqualified", "competitor: Chose X")
    event = DomainEvent.objects.get(lead_id=lead.pk, type="scoring.LifecycleChanged")
    assert event.actor_id == rep.pk


def test_lifecycle_errors_have_codes_and_field_messages() -> None:
    team = TeamFactory()
    rep = UserFactory(role=Role.SALES_REP, teams=[team])
    mine = LeadFactory(owner=rep, lifecycle_stage="mql")
    unassigned = LeadFactory(owner=None, team=team)
    api = Api(rep)

    missing = api.send("post", f"/api/v1/leads/{mine.pk}/lifecycle", {"stage": "disqualified"})
    assert missing.status_code == 422
    assert missing.json()["fields"] == {"reason": ["Choose why the lead is disqualified."]}
    bad_stage = api.send("post", f"/api/v1/leads/{mine.pk}/lifecycle", {"stage": "won"})
    assert bad_stage.status_code == 422 and "stage" in bad_stage.json()["fields"]
    unknown = api.send("post", f"/api/v1/leads/{mine.pk}/lifecycle", {"stage": "sql", "owner_id": 1})
    assert unknown.status_code == 422 and unknown.json()["fields"] == {"owner_id": ["Unknown field."]}
    forbidden = api.send("post", f"/api/v1/leads/{unassigned.pk}/lifecycle", {"stage": "mql"})
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "stage_change_not_allowed")
    hidden = api.send("post", f"/api/v1/leads/{LeadFactory().pk}/lifecycle", {"stage": "mql"})
    assert (hidden.status_code, hidden.json()["code"]) == (404, "lead_not_found")


def test_bant_put_replaces_the_answers_and_four_of_four_is_an_sql() -> None:
    manager_team = TeamFactory()
    manager = UserFactory(role=Role.MANAGER, teams=[manager_team])
    lead = LeadFactory(team=manager_team, lifecycle_stage="lead")
    api = Api(manager)
    partial = api.send(
        "put", f"/api/v1/leads/{lead.pk}/bant", {"budget": "20k", "authority": "", "need": "CRM", "timing": ""}
    )
    assert partial.status_code == 200
    assert (partial.json()["bant_known"], partial.json()["lifecycle_stage"]) == (2, "lead")
    full = api.send(
        "put", f"/api/v1/leads/{lead.pk}/bant", {"budget": "20k", "authority": "CEO", "need": "CRM", "timing": "Q1"}
    )
    assert (full.json()["bant_known"], full.json()["lifecycle_stage"]) == (4, "sql")
    assert Lead.objects.get(pk=lead.pk).bant_timing == "Q1"

    too_long = api.send(
        "put", f"/api/v1/leads/{lead.pk}/bant", {"budget": "x" * 201, "authority": "", "need": "", "timing": ""}
    )
    assert too_long.status_code == 422 and "budget" in too_long.json()["fields"]
    incomplete = api.send("put", f"/api/v1/leads/{lead.pk}/bant", {"budget": "x"})
    assert incomplete.status_code == 422 and set(incomplete.json()["fields"]) == {"authority", "need", "timing"}
    marketing = Api(UserFactory(role=Role.MARKETING)).send(
        "put", f"/api/v1/leads/{lead.pk}/bant", {"budget": "", "authority": "", "need": "", "timing": ""}
    )
    assert marketing.status_code == 403
