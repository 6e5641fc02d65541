"""Notifications in a real browser: a rep is on a page; a lead arrives through the API (admin token),
routing gives it to the rep, and the bell's unread count rises without a reload; the notification opens the lead."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import expect

from embudo.accounts import services as account_services
from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.leads.models import Lead
from embudo.routing import services as routing_services
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_rep_sees_a_routed_lead_live_in_the_bell(page: Any, live_server: Any) -> None:
    iberia = TeamFactory.create(name="Iberia", slug="iberia")
    admin = UserFactory.create(email="ada@example.com", role=Role.ADMIN)
    rep = UserFactory.create(email="rosa@example.com", full_name="Rosa Rep", teams=[iberia])
    pool = routing_services.create_pool(actor=admin, data={"name": "Iberia", "team_id": iberia.pk,
                                                           "members": [{"user_id": rep.pk}]})  # fmt: skip
    draft = routing_services.create_rule_set(actor=admin)
    routing_services.update_draft(actor=admin, rule_set_id=draft.pk, data={
        "default_action": "queue",
        "rules": [{"name": "Spain", "action": "assign_pool", "pool_id": pool.pk,
                   "conditions": [{"field": "country", "op": "equals", "value": "ES"}]}]})  # fmt: skip
    routing_services.publish_rule_set(actor=admin, rule_set_id=draft.pk)

    log_in(page, live_server.url, rep.email)
    bell = page.get_by_role("link", name=re.compile(r"^Notifications, \d+ unread"))
    expect(bell).to_have_attribute("data-unread", "0")

    _, token = account_services.create_api_token(user_email=admin.email, name="e2e")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        "/api/v1/leads", json.dumps({"first_name": "Lucía", "last_name": "Gil", "email": "lucia@acme.example",
                                     "country": "ES"}), content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(email="lucia@acme.example")
    assert lead.owner_id == rep.pk

    # No reload: the bell polls (every 8 s) and swaps itself when the count changes.
    expect(page.get_by_role("link", name="Notifications, 1 unread")).to_be_visible(timeout=20_000)
    assert page.url == f"{live_server.url}/inbox/"  # no reload happened
    page.get_by_role("link", name="Notifications, 1 unread").click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    page.get_by_role("link", name=re.compile("New lead assigned: Lucía Gil")).click()
    page.wait_for_url(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.get_by_role("heading", name="Lucía Gil", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Notifications, 0 unread")).to_be_visible()
