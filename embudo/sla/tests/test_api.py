"""The SLA API: speed-to-lead, clocks and policies, with role scoping."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.sla import services
from embudo.sla.models import SlaPolicy
from embudo.sla.tests.conftest import MONDAY_10, World, make_policy
from embudo.sla.tests.test_selectors import speed_rows

pytestmark = pytest.mark.django_db


def api(user: User) -> Client:
    _, token = account_services.create_api_token(user_email=user.email, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@time_machine.travel(MONDAY_10, tick=False)
def test_speed_to_lead_grouped_by_team(world: World) -> None:
    speed_rows(world)
    admin = UserFactory(role="admin")
    body = api(admin).get("/api/v1/speed-to-lead", {"group_by": "team"}).json()
    assert [r["label"] for r in body["rows"]] == ["all", "Iberia", "Americas"]
    assert body["rows"][1]["assigned"] == {"count": 10, "p50_seconds": 55.0, "p95_seconds": 95.5}


@time_machine.travel(MONDAY_10, tick=False)
def test_managers_see_their_teams_only_and_reps_are_refused(world: World) -> None:
    extra = speed_rows(world)
    manager = api(world.manager)
    body = manager.get("/api/v1/speed-to-lead", {"group_by": "source"}).json()
    assert [(r["key"], r["leads"]) for r in body["rows"]] == [("all", 10), ("web", 10)]
    refused = manager.get("/api/v1/speed-to-lead", {"team": extra["other_team"].pk})
    assert refused.status_code == 403 and refused.json()["code"] == "sla_not_allowed"
    assert api(world.rep).get("/api/v1/speed-to-lead").status_code == 403
    assert api(world.rep).get("/api/v1/speed-to-lead", {"group_by": "nope"}).status_code in (403, 422)


def test_open_clocks_by_deadline_and_scoped(world: World) -> None:
    make_policy()
    with time_machine.travel(MONDAY_10, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    with time_machine.travel(MONDAY_10 + timedelta(minutes=4), tick=False):
        rows = api(world.manager).get("/api/v1/sla/clocks", {"status": "open"}).json()
        assert [(r["lead_id"], r["seconds_left"], r["policy_name"]) for r in rows] == [
            (world.lead.pk, 360, "Hot lead: first touch within 10 minutes")
        ]  # fmt: skip
        assert len(api(world.rep).get("/api/v1/sla/clocks").json()) == 1  # their own
        assert api(world.other_rep).get("/api/v1/sla/clocks").json() == []
        outsider = UserFactory(role="manager", teams=[TeamFactory()])
        assert api(outsider).get("/api/v1/sla/clocks").json() == []


def test_policies_crud_with_field_errors(world: World) -> None:
    manager = api(world.manager)
    bad = manager.post("/api/v1/sla/policies", json.dumps({
        "name": "", "trigger": "hot", "target_minutes": 10, "remind_before_minutes": 10,
        "conditions": [{"field": "nope", "op": "equals", "value": "x"}],
    }), content_type="application/json")  # fmt: skip
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) == {"name", "remind_before_minutes", "conditions.0.field"}
    payload: dict[str, Any] = {"name": "Hot", "trigger": "hot", "target_minutes": 10, "team_id": world.team.pk,
                               "conditions": [{"field": "grade", "op": "equals", "value": "HOT"}]}  # fmt: skip
    created = manager.post("/api/v1/sla/policies", json.dumps(payload), content_type="application/json")
    assert created.status_code == 201, created.json()
    policy_id = created.json()["id"]
    assert created.json()["conditions"] == [{"field": "grade", "op": "equals", "value": "hot"}]
    payload["target_minutes"] = 15
    updated = manager.put(f"/api/v1/sla/policies/{policy_id}", json.dumps(payload), content_type="application/json")
    assert updated.json()["target_minutes"] == 15
    assert [p["name"] for p in manager.get("/api/v1/sla/policies").json()] == ["Hot"]
    rep = api(world.rep)
    assert rep.post("/api/v1/sla/policies", json.dumps(payload), content_type="application/json").status_code == 403
    assert rep.delete(f"/api/v1/sla/policies/{policy_id}").status_code == 403
    assert manager.delete(f"/api/v1/sla/policies/{policy_id}").status_code == 204
    assert not SlaPolicy.objects.exists()
    assert manager.delete(f"/api/v1/sla/policies/{policy_id}").status_code == 404
