"""The SLA dashboard and the policy editor."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from embudo.accounts.models import User
from embudo.accounts.tests.factories import UserFactory
from embudo.sla import services
from embudo.sla.models import Holiday, SlaPolicy
from embudo.sla.tests.conftest import MONDAY_10, World, make_policy
from embudo.sla.tests.test_selectors import speed_rows

pytestmark = pytest.mark.django_db


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_reps_cannot_see_the_dashboard_or_policies(client: Client, world: World) -> None:
    login(client, world.rep)
    assert client.get(reverse("sla:dashboard")).status_code == 403
    assert client.get(reverse("sla:policies")).status_code == 403
    marketing = UserFactory(role="marketing")
    login(client, marketing)
    assert client.get(reverse("sla:dashboard")).status_code == 200
    assert client.get(reverse("sla:policies")).status_code == 403


def test_dashboard_shows_percentiles_compliance_and_clocks(
    client: Client, world: World, django_assert_max_num_queries: object
) -> None:
    speed_rows(world)
    make_policy()
    with time_machine.travel(MONDAY_10, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    with time_machine.travel(MONDAY_10 + timedelta(minutes=3), tick=False):
        login(client, world.manager)
        with django_assert_max_num_queries(16):  # type: ignore[operator]
            response = client.get(reverse("sla:dashboard"), {"period": "30", "group": "team"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Iberia" in html and "55 s / 96 s" in html  # p50 / p95 received → assigned
    assert "Americas" not in html  # not the manager's team
    assert reverse("leads:detail", args=[world.lead.pk]) in html
    assert 'data-sla-left="420"' in html
    assert "Hot lead: first touch within 10 minutes" in html


def test_policy_editor_shows_field_errors_and_saves(client: Client, world: World) -> None:
    login(client, world.manager)
    response = client.post(reverse("sla:policy_create"), {
        "name": "Hot", "trigger": "hot", "target_minutes": "10", "remind_before_minutes": "20",
        "cond-0-field": "grade", "cond-0-op": "bogus", "cond-0-value": "hot",
    })  # fmt: skip
    assert response.status_code == 200
    form = response.context["form"]
    assert "remind_before_minutes" in form.errors
    assert any(key.startswith("conditions") for key in response.context["errors"])
    assert 'value="hot"' in response.content.decode()  # what was typed is kept
    response = client.post(reverse("sla:policy_create"), {
        "name": "Hot", "trigger": "hot", "target_minutes": "10", "remind_before_minutes": "5",
        "cond-0-field": "grade", "cond-0-op": "equals", "cond-0-value": "hot", "cond-1-field": "",
        "escalate": "on", "active": "on",
    })  # fmt: skip
    assert response.status_code == 302
    policy = SlaPolicy.objects.get()
    assert (policy.escalate, policy.reassign, policy.business_hours) == (True, False, False)
    assert policy.conditions == [{"field": "grade", "op": "equals", "value": "hot"}]
    edit = client.get(reverse("sla:policy_edit", args=[policy.pk]))
    assert edit.context["condition_rows"][0] == {"index": 0, "field": "grade", "op": "equals", "value": "hot"}
    client.post(reverse("sla:policy_delete", args=[policy.pk]))
    assert not SlaPolicy.objects.exists()


def test_holidays_are_added_once(client: Client, world: World) -> None:
    login(client, world.manager)
    assert client.post(reverse("sla:policies"), {"date": "2026-12-25", "name": "Christmas"}).status_code == 302
    again = client.post(reverse("sla:policies"), {"date": "2026-12-25", "name": "Christmas"})
    assert "already a holiday" in again.content.decode()
    holiday = Holiday.objects.get()
    client.post(reverse("sla:holiday_delete", args=[holiday.pk]))
    assert not Holiday.objects.exists()


def test_breach_and_met_events_render_on_the_lead_timeline(client: Client, world: World) -> None:
    make_policy(escalate=True)
    with time_machine.travel(MONDAY_10, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    with time_machine.travel(MONDAY_10 + timedelta(minutes=11), tick=False):
        services.sweep()
        login(client, world.manager)
        html = client.get(reverse("leads:detail", args=[world.lead.pk])).content.decode()
    assert "SLA breached" in html and "managers notified" in html
