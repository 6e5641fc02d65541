"""The inbox JSON API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import User
from embudo.inbox.models import Snooze
from embudo.inbox.tests.conftest import NOW, World, make_clock, make_lead

pytestmark = pytest.mark.django_db


def api(user: User) -> Client:
    _, token = account_services.create_api_token(user_email=user.email, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@time_machine.travel(NOW, tick=False)
def test_get_inbox_in_priority_order_with_filters(world: World) -> None:
    cold = make_lead(world.rep, world.team, grade="cold", score=5)
    hot = make_lead(world.rep, world.team, grade="hot", score=80)
    urgent = make_lead(world.rep, world.team, grade="warm", score=20, phone="+34600111222")
    make_clock(world, urgent, NOW + timedelta(minutes=20))
    make_lead(world.other_rep, world.team, grade="hot")
    client = api(world.rep)
    body = client.get("/api/v1/inbox").json()
    assert [i["lead_id"] for i in body["items"]] == [urgent.pk, hot.pk, cold.pk]
    assert body["items"][0]["sla_state"] == "due_soon"
    assert body["items"][0]["sla_policy"] == world.policy.name
    assert body["has_next"] is False and body["page_size"] == 50
    assert [i["lead_id"] for i in client.get("/api/v1/inbox?grade=hot").json()["items"]] == [hot.pk]


@time_machine.travel(NOW, tick=False)
def test_snooze_and_unsnooze(world: World) -> None:
    lead = make_lead(world.rep, world.team)
    client = api(world.rep)
    until = (NOW + timedelta(hours=3)).isoformat()
    response = client.post(f"/api/v1/leads/{lead.pk}/snooze", json.dumps({"until": until}),
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 200, response.content
    assert client.get("/api/v1/inbox").json()["items"] == []
    past = client.post(f"/api/v1/leads/{lead.pk}/snooze", json.dumps({"until": NOW.isoformat()}),
                       content_type="application/json")  # fmt: skip
    assert past.status_code == 422 and "until" in past.json()["fields"]
    other = make_lead(world.other_rep, world.team)
    forbidden = client.post(f"/api/v1/leads/{other.pk}/snooze", json.dumps({"until": until}),
                            content_type="application/json")  # fmt: skip
    assert forbidden.status_code == 404
    assert client.delete(f"/api/v1/leads/{lead.pk}/snooze").status_code == 204
    assert not Snooze.objects.exists()
    assert len(client.get("/api/v1/inbox").json()["items"]) == 1


@time_machine.travel(NOW, tick=False)
def test_team_view_for_managers_only(world: World) -> None:
    lead = make_lead(world.rep, world.team, grade="hot")
    make_clock(world, lead, NOW - timedelta(minutes=5), status="breached")
    make_lead(None, world.team, created_at=NOW - timedelta(hours=2))
    assert api(world.rep).get("/api/v1/inbox/team").status_code == 403
    body = api(world.manager).get("/api/v1/inbox/team").json()
    assert body["breaching"][0]["lead_id"] == lead.pk
    assert body["breaching"][0]["overdue_seconds"] == 300
    assert body["unassigned"][0]["waiting_seconds"] == 7200
    assert {r["user_id"] for r in body["workload"]} >= {world.rep.pk, world.other_rep.pk}
