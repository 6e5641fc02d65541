from __future__ import annotations

import json
from typing import Any

from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import User
from embudo.leads.models import Lead
from embudo.pipeline.tests.conftest import World, stage


class Api:
    def __init__(self, user: User):
        _, token = account_services.create_api_token(user_email=user.email, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}")

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(f"/api/v1{path}", json.dumps(body or {}), content_type="application/json")


def test_stages_and_deals(world: World) -> None:
    api = Api(world.rep)
    response = api.get("/pipeline/stages")
    assert response.status_code == 200
    assert [s["key"] for s in response.json()][:2] == ["new", "contacted"]
    lead = world.lead(owner=world.rep)
    assert api.get(f"/leads/{lead.pk}/deal").status_code == 404  # no deal yet
    moved = api.post(f"/leads/{lead.pk}/deal/move", {"stage_key": "interested", "amount": "2500"})
    assert moved.status_code == 200, moved.content
    assert moved.json()["stage"]["key"] == "interested" and moved.json()["amount"] == "2500.00"
    assert api.get(f"/leads/{lead.pk}/deal").json()["stage"]["label"] == "Interested"
    page = api.get("/pipeline/deals?sort=-amount").json()
    assert page["count"] == 1 and page["items"][0]["lead_id"] == lead.pk and page["total"] == "2500.00"


def test_lost_needs_a_reason_and_errors_have_fields(world: World) -> None:
    api = Api(world.rep)
    lead = world.lead(owner=world.rep)
    response = api.post(f"/leads/{lead.pk}/lost", {"reason": ""})
    assert response.status_code == 422
    assert response.json()["fields"] == {"lost_reason": ["Say why the deal was lost."]}
    response = api.post(f"/leads/{lead.pk}/deal/move", {"stage_id": stage("lost").pk})
    assert response.status_code == 422 and "lost_reason" in response.json()["fields"]
    assert api.post(f"/leads/{lead.pk}/deal/move", {"stage_key": "nope"}).status_code == 422
    assert api.post(f"/leads/{lead.pk}/deal/move", {"stage_key": "new", "x": 1}).status_code == 422
    response = api.post(f"/leads/{lead.pk}/lost", {"reason": "No budget"})
    assert response.status_code == 200 and response.json()["lost_reason"] == "No budget"
    assert Lead.objects.get(pk=lead.pk).outcome == "lost"


def test_convert_and_won(world: World) -> None:
    api = Api(world.manager)
    lead = world.lead(owner=world.rep, lifecycle_stage="sql")
    assert api.post(f"/leads/{lead.pk}/convert", {"amount": "900"}).status_code == 200
    assert Lead.objects.get(pk=lead.pk).lifecycle_stage == "opportunity"
    response = api.post(f"/leads/{lead.pk}/won")
    assert response.status_code == 200 and response.json()["stage"]["kind"] == "won"
    lead.refresh_from_db()
    assert (lead.outcome, lead.lifecycle_stage, lead.status) == ("won", "customer", "converted")


def test_not_visible_is_404(world: World) -> None:
    api = Api(world.rep)
    theirs = world.lead(owner=world.other_rep, team=world.other_team)
    for path in (f"/leads/{theirs.pk}/won", f"/leads/{theirs.pk}/convert"):
        assert api.post(path).status_code == 404
    assert api.post(f"/leads/{theirs.pk}/deal/move", {"stage_key": "won"}).status_code == 404
    assert api.get(f"/leads/{theirs.pk}/deal").status_code == 404
    assert api.get("/pipeline/deals?owner=all").json()["count"] == 0
