"""Logging interactions in a real browser: a rep logs a call from the panel (htmx), switches tabs with the
keyboard, prepares a WhatsApp message; the panel has no serious accessibility violations."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.interactions.models import Interaction
from embudo.leads.tests.factories import LeadFactory
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def serious_violations(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]


def test_a_rep_logs_a_call_and_prepares_a_whatsapp_message(page: Any, live_server: Any) -> None:
    team = TeamFactory(name="Iberia", slug="iberia")
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", role=Role.SALES_REP, teams=[team])
    lead = LeadFactory(first_name="Lola", last_name="Lead", email="lola@acme.example", phone="+34600111222",
                       owner=rep, team=team)  # fmt: skip

    log_in(page, live_server.url, "rita@example.com")
    page.goto(f"{live_server.url}/interactions/leads/{lead.pk}/")
    panel = page.locator("[data-interactions-panel]")
    assert page.get_by_role("tab", name="Call").get_attribute("aria-selected") == "true"
    assert serious_violations(page) == []

    call_tab = page.get_by_role("tabpanel", name="Call")
    call_tab.get_by_label("Connected").check()
    call_tab.get_by_label("Duration").fill("5:30")
    call_tab.get_by_label("Notes").fill("Interested in the annual plan; wants a proposal by Friday.")
    page.get_by_role("button", name="Log call").click()
    confirmation = page.get_by_role("status").filter(has_text="Call logged.")
    # htmx moves focus to the confirmation in its settle step, a moment after the swap; wait for it so the
    # keyboard steps below start from the tab this test focuses, not from wherever htmx puts focus later.
    expect(confirmation).to_be_focused()
    recent = panel.locator(".ix-recent").inner_text()
    assert "Connected" in recent and "05:30" in recent and "annual plan" in recent
    call = Interaction.objects.get()
    assert (call.kind, call.outcome, call.duration_seconds, call.actor_id) == ("call", "connected", 330, rep.pk)

    # Tabs: arrow keys move between them (ARIA tablist); only the selected panel shows.
    page.get_by_role("tab", name="Call").focus()
    page.keyboard.press("ArrowRight")
    assert page.get_by_role("tab", name="Email").get_attribute("aria-selected") == "true"
    assert page.get_by_role("button", name="Send email").is_visible()
    assert not page.get_by_role("button", name="Log call").is_visible()

    page.get_by_role("tab", name="WhatsApp").click()
    page.get_by_role("tabpanel", name="WhatsApp").get_by_label("Message").fill("Hola Lola, ¿hablamos mañana a las 10?")
    link = page.get_by_role("link", name="Open WhatsApp")
    href = urlsplit(link.get_attribute("href"))
    assert (href.netloc, href.path) == ("wa.me", "/34600111222")
    assert parse_qs(href.query) == {"text": ["Hola Lola, ¿hablamos mañana a las 10?"]}
    page.get_by_role("button", name="Log message").click()
    page.get_by_role("status").filter(has_text="WhatsApp message logged.").wait_for()
    assert sorted(Interaction.objects.values_list("kind", flat=True)) == ["call", "whatsapp"]

    # An error renders inline, next to its field.
    page.get_by_role("tab", name="Meeting").click()
    page.get_by_role("button", name="Log meeting").click()
    error = page.locator("[data-ix-tabpanel=meeting] .errorlist")
    error.wait_for()
    assert "This field is required." in error.inner_text()
    assert serious_violations(page) == []


def test_the_panel_fragment_in_compact_mode_fits_a_phone(page: Any, live_server: Any) -> None:
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", role=Role.SALES_REP)
    lead = LeadFactory(owner=rep, phone="+34600111222")
    log_in(page, live_server.url, "rita@example.com")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/interactions/leads/{lead.pk}/?kind=meeting")
    assert page.get_by_role("tab", name="Meeting").get_attribute("aria-selected") == "true"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375


def test_logging_from_the_lead_page_refreshes_the_timeline(page: Any, live_server: Any) -> None:
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", role=Role.SALES_REP)
    lead = LeadFactory(first_name="Lola", last_name="Lead", email="lola@acme.example", owner=rep)
    log_in(page, live_server.url, "rita@example.com")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    panel = page.locator("[data-interactions-panel]")
    if not panel.count():
        panel.wait_for(timeout=5_000)
    panel.get_by_role("tab", name="Email").click()
    email_tab = page.get_by_role("tabpanel", name="Email")
    email_tab.get_by_label("Subject").fill("Our proposal")
    email_tab.get_by_label("Message").fill("Hi Lola,\n\nAttached is our proposal.")
    email_tab.get_by_role("button", name="Send email").click()
    page.get_by_role("status").filter(has_text="Email queued").wait_for()
    assert page.get_by_role("tab", name="Email").get_attribute("aria-selected") == "true"
    page.get_by_text("emailed this lead").first.wait_for()
    assert Interaction.objects.get().subject == "Our proposal"
