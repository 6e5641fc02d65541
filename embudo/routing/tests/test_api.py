"""The routing API end to end, and a lead from POST /api/v1/leads reaching the right rep."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import User
from embudo.leads.models import Company, Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.routing.models import Assignment
from embudo.routing.tests.conftest import Setup

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user: User):
        _, token = account_services.create_api_token(user_email=user.email, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}")

    def send(self, method: str, path: str, body: Any) -> Any:
        return getattr(self.client, method)(f"/api/v1{path}", json.dumps(body), content_type="application/json")


def test_a_lead_from_the_api_reaches_the_right_rep(setup: Setup) -> None:
    api = Api(setup.admin)
    Company.objects.create(name="Gigante", domain="gigante.example", size="1000+")
    cases = {
        "ana@iberico.example": ("ES", setup.pools["iberia"]),
        "luis@mexicana.example": ("MX", setup.pools["americas"]),
        "eva@gigante.example": ("ES", setup.pools["senior"]),
    }
    for email, (country, pool) in cases.items():
        response = api.send("post", "/leads", {"email": email, "first_name": "X", "country": country})
        assert response.status_code == 201, response.content
        lead = Lead.objects.get(email=email)
        members = set(pool.members.values_list("user_id", flat=True))
        assert lead.owner_id in members, (email, lead.owner_id)
        assert lead.team_id == pool.team_id
        body = api.get(f"/leads/{lead.pk}/assignment").json()
        assert body["owner_id"] == lead.owner_id
        assert body["latest"]["pool_name"] == pool.name and body["latest"]["trigger"] == "intake"
        assert body["latest"]["candidates"][0]["status"] in ("chosen", "eligible")
        assert body["speed"]["received_at"] and body["speed"]["assigned_at"]
        assert [n["user_id"] for n in setup.notified if n.get("lead_id") == lead.pk] == [lead.owner_id]


def test_rule_set_api_draft_edit_publish_preview(setup: Setup) -> None:
    api = Api(setup.admin)
    listed = api.get("/routing/rule-sets").json()
    assert [r["status"] for r in listed] == ["published"]
    assert api.send("put", f"/routing/rule-sets/{setup.rule_set.pk}", {"name": "x"}).status_code == 409
    draft = api.send("post", f"/routing/rule-sets/{setup.rule_set.pk}/draft", {})
    assert draft.status_code == 201
    draft_id = draft.json()["id"]
    bad = api.send(
        "put",
        f"/routing/rule-sets/{draft_id}",
        {
            "rules": [
                {
                    "name": "Broken",
                    "action": "assign_pool",
                    "pool_id": setup.pools["iberia"].pk,
                    "conditions": [{"field": "country", "op": "between", "value": "ES"}],
                }
            ]
        },
    )
    assert bad.status_code == 422
    assert bad.json()["fields"] == {"rules.0.conditions.0.value": ["Give two numbers: [low, high]."]}
    rules = draft.json()["rules"]
    rules.insert(
        0,
        {
            "name": "Hot",
            "action": "assign_user",
            "user_id": setup.senior.pk,
            "conditions": [{"field": "grade", "op": "equals", "value": "hot"}],
        },
    )
    for r in rules:
        r.pop("position", None)
    ok = api.send("put", f"/routing/rule-sets/{draft_id}", {"rules": rules, "name": "With hot"})
    assert ok.status_code == 200, ok.content
    assert [r["name"] for r in ok.json()["rules"]] == ["Hot", "Big or hot", "Iberia", "Latin America"]
    lead = LeadFactory.create(country="ES", grade="hot")
    preview = api.send("post", f"/routing/rule-sets/{draft_id}/preview", {"lead_id": lead.pk}).json()
    assert preview["rule_name"] == "Hot" and preview["owner_id"] == setup.senior.pk
    assert [c["matched"] for c in preview["checks"]] == [True, False, True, False]
    assert not Assignment.objects.exists()
    published = api.send("post", f"/routing/rule-sets/{draft_id}/publish", {})
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert api.send("post", f"/routing/rule-sets/{draft_id}/publish", {}).status_code == 409
    rep = Api(setup.iberia_reps[0])
    assert rep.get("/routing/rule-sets").status_code == 403


def test_pools_api(setup: Setup) -> None:
    api = Api(setup.admin)
    pools = api.get("/routing/pools").json()
    assert {p["name"] for p in pools} == {"Iberia", "Americas", "Senior"}
    bad = api.send(
        "post",
        "/routing/pools",
        {"name": "Iberia", "strategy": "random", "fallback": "manager", "members": [{"user_id": 999999, "weight": 0}]},
    )
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) == {"name", "strategy", "fallback_user_id"}
    created = api.send(
        "post",
        "/routing/pools",
        {
            "name": "Night",
            "strategy": "weighted",
            "members": [{"user_id": setup.senior.pk, "weight": 3, "capacity": 20, "languages": ["ES", "en"]}],
        },
    )
    assert created.status_code == 201, created.content
    member = created.json()["members"][0]
    assert (member["weight"], member["capacity"], member["languages"]) == (3, 20, ["en", "es"])
    pool_id = created.json()["id"]
    bad_members = api.send(
        "put", f"/routing/pools/{pool_id}/members", {"members": [{"user_id": setup.senior.pk, "weight": 0}]}
    )
    assert bad_members.status_code == 422 and bad_members.json()["fields"] == {
        "members.0.weight": ["Between 1 and 1000."]
    }
    updated = api.send("put", f"/routing/pools/{pool_id}", {"active": False})
    assert updated.status_code == 200 and updated.json()["active"] is False


def test_manual_assign_api(setup: Setup) -> None:
    lead = LeadFactory.create(team=setup.iberia)
    rep = Api(setup.iberia_reps[0])
    assert rep.send("post", f"/leads/{lead.pk}/assign", {"user_id": setup.senior.pk, "reason": "x"}).status_code in (
        403,
        404,
    )
    manager = Api(setup.manager)
    response = manager.send("post", f"/leads/{lead.pk}/assign", {"user_id": setup.senior.pk, "reason": ""})
    assert response.status_code == 422 and response.json()["fields"] == {"reason": ["Say why."]}
    response = manager.send("post", f"/leads/{lead.pk}/assign", {"user_id": setup.senior.pk, "reason": "VIP"})
    assert response.status_code == 200
    body = response.json()
    assert body["owner_id"] == setup.senior.pk and body["latest"]["kind"] == "manual"
    assert body["latest"]["reason"] == "VIP" and body["latest"]["actor_id"] == setup.manager.pk
