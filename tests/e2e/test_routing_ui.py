"""Routing in a real browser: a manager adds "country = ES → Iberia pool" to a draft, tests it on a lead,
publishes it; a lead from the API lands on an Iberia rep; the manager reassigns it with a reason and the lead
page explains the assignment."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import expect

from embudo.accounts import services as account_services
from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.routing import services as routing_services
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_builds_previews_publishes_and_reassigns(page: Any, live_server: Any) -> None:
    iberia = TeamFactory.create(name="Iberia", slug="iberia")
    admin = UserFactory.create(email="ada@example.com", role=Role.ADMIN)
    manager = UserFactory.create(email="marta@example.com", full_name="Marta Manager", role=Role.MANAGER,
                                 teams=[iberia])  # fmt: skip
    ana = UserFactory.create(full_name="Ana Iberia", teams=[iberia])
    bruno = UserFactory.create(full_name="Bruno Iberia", teams=[iberia])
    members = [{"user_id": ana.pk}, {"user_id": bruno.pk}]
    routing_services.create_pool(actor=admin, data={"name": "Iberia", "team_id": iberia.pk, "members": members})
    published = routing_services.create_rule_set(actor=admin, name="Start")
    routing_services.publish_rule_set(actor=admin, rule_set_id=published.pk)
    sample = LeadFactory.create(
        first_name="Pilar", last_name="Sanz", email="pilar@example.es", country="ES", team=iberia
    )

    log_in(page, live_server.url, manager.email)
    page.get_by_role("navigation", name="Main").get_by_text("More").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Routing").click()
    page.wait_for_url(f"{live_server.url}/routing/")
    page.get_by_role("button", name="Edit as a new draft").click()
    page.wait_for_url(f"{live_server.url}/routing/rule-sets/*/")

    page.get_by_role("link", name="Add a rule").click()
    expect(page.get_by_label("Rule name")).to_be_focused()  # the form opens (htmx) with focus on its first field
    page.get_by_label("Rule name").fill("Spain")
    page.get_by_label("Condition 1: field").select_option(label="Country")
    page.get_by_label("Condition 1: operator").select_option(label="is")
    page.get_by_label("Condition 1: value").fill("ES")
    page.get_by_label("Action", exact=True).select_option(label="Assign through a pool")
    page.get_by_label("Pool", exact=True).select_option(label="Iberia")
    page.get_by_role("button", name="Save rule").click()
    rules = page.locator("#rules")
    expect(rules).to_contain_text("Spain")
    expect(rules).to_contain_text("Iberia")

    page.get_by_label("Lead (id, name, email or company)").fill("pilar@example.es")
    page.get_by_role("button", name="Test", exact=True).click()
    result = page.locator("#preview-result")
    expect(result).to_contain_text("Matches rule Spain")
    expect(result).to_contain_text("Would be assigned to")
    assert sample.owner_id is None

    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(f"{live_server.url}/routing/")
    expect(page.get_by_text("Rule set published")).to_be_visible()

    _, token = account_services.create_api_token(user_email=admin.email, name="e2e")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        "/api/v1/leads", json.dumps({"first_name": "Jordi", "last_name": "Puig", "email": "jordi@acme.example",
                                     "country": "ES"}), content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(email="jordi@acme.example")
    assert lead.owner_id in (ana.pk, bruno.pk)
    other = bruno if lead.owner_id == ana.pk else ana

    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    panel = page.locator("#routing-panel")
    expect(panel).to_contain_text("Why this owner")
    expect(panel).to_contain_text("Rule Spain")
    expect(panel).to_contain_text("Pool Iberia")
    panel.get_by_label("New owner").select_option(label=other.full_name)
    panel.get_by_label("Reason").fill("Customer asked for a Catalan speaker")
    panel.get_by_role("button", name="Reassign").click()
    expect(panel).to_contain_text("Assigned by hand by Marta Manager")
    expect(panel).to_contain_text("Customer asked for a Catalan speaker")
    expect(panel.locator("[data-owner]")).to_have_text(other.full_name)
    assert Lead.objects.get(pk=lead.pk).owner_id == other.pk
