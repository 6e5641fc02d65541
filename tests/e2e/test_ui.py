"""End-to-end: a real browser against the live server (scenarios of the Foundation issue)."""

from __future__ import annotations

import os
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.leads import services
from embudo.leads.models import Lead
from embudo.leads.tests.factories import CompanyFactory, LeadFactory
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_rep_sees_only_own_and_unassigned_team_leads(page: Any, live_server: Any) -> None:
    team = TeamFactory(name="Norte", slug="norte")
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", role=Role.SALES_REP, teams=[team])
    other = UserFactory(email="omar@example.com", full_name="Omar Other", role=Role.SALES_REP, teams=[team])
    LeadFactory(first_name="Olivia", last_name="Own", owner=rep, team=team)
    LeadFactory(first_name="Ulises", last_name="Unassigned", owner=None, team=team)
    hidden = LeadFactory(first_name="Hugo", last_name="Hidden", owner=other, team=team)

    log_in(page, live_server.url, "rita@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").click()
    page.wait_for_url(f"{live_server.url}/leads/")
    rows = page.locator("#lead-rows")
    assert rows.get_by_role("link", name="Olivia Own").is_visible()
    assert rows.get_by_role("link", name="Ulises Unassigned").is_visible()
    assert rows.get_by_text("Hugo Hidden").count() == 0
    assert page.get_by_text("Rita Rep").first.is_visible()

    response = page.goto(f"{live_server.url}/leads/{hidden.pk}/")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()


def test_create_lead_then_find_it_in_list_and_timeline(page: Any, live_server: Any) -> None:
    team = TeamFactory(name="Sur", slug="sur")
    UserFactory(email="sam@example.com", full_name="Sam Seller", role=Role.SALES_REP, teams=[team])
    for _ in range(3):
        LeadFactory(owner=None, team=team)

    log_in(page, live_server.url, "sam@example.com")
    assert page.evaluate("typeof window.htmx") == "object", "htmx was not loaded"
    page.get_by_role("navigation", name="Main").get_by_text("More").click()
    page.get_by_role("link", name="New lead").first.click()
    page.get_by_label("First name").fill("Valentina")
    page.get_by_label("Last name").fill("Quiroga")
    page.get_by_label("Email").fill("valentina@quiroga.example")
    page.get_by_label("Company").fill("Quiroga Hermanos")
    page.get_by_role("button", name="Create lead").click()
    page.wait_for_url(f"{live_server.url}/leads/*/")
    assert page.get_by_text("Lead created.").is_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").click()
    page.get_by_label("Search").fill("quiroga")
    # Live search (htmx) replaces the results without a page load.
    expect(page.locator("#lead-rows tr:not(.more-row)")).to_have_count(1)
    assert "search=quiroga" in page.url
    link = page.locator("#lead-rows").get_by_role("link", name="Valentina Quiroga")
    link.click()
    timeline = page.locator(".timeline")
    assert "created this lead via manual" in timeline.inner_text()
    assert "Sam Seller" in timeline.inner_text()


def test_switch_ui_to_spanish_and_back(page: Any, live_server: Any) -> None:
    UserFactory(email="ana@example.com", full_name="Ana Admin", role=Role.ADMIN)
    log_in(page, live_server.url, "ana@example.com")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Leads").is_visible()

    page.get_by_role("button", name="ES").click()
    page.wait_for_load_state()
    nav = page.get_by_role("navigation", name="Principal")
    assert nav.get_by_role("link", name="Clientes potenciales").is_visible()
    assert page.get_by_label("Buscar").is_visible()
    assert page.locator("html").get_attribute("lang") == "es"

    page.get_by_role("button", name="EN").click()
    page.wait_for_load_state()
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"


def _demo_data() -> tuple[Any, Lead]:
    """A small, deterministic, realistic data set for screenshots."""
    rnd = random.Random(7)
    team = TeamFactory(name="Iberia", slug="iberia")
    manager = UserFactory(email="marisa@example.com", full_name="Marisa Montero", role=Role.MANAGER, teams=[team])
    reps = [
        UserFactory(email="rodrigo@example.com", full_name="Rodrigo Ruiz", teams=[team]),
        UserFactory(email="sofia@example.com", full_name="Sofía Salas", teams=[team]),
    ]
    people = [
        ("Lucía", "Fernández", "Directora de Marketing", "Grupo Alba", "mql", "hot", 82),
        ("James", "Whitaker", "VP Sales", "Northwind Traders", "sql", "hot", 77),
        ("Carmen", "Ortega", "CFO", "Ortega Logística", "opportunity", "warm", 64),
        ("Diego", "Navarro", "IT Manager", "Navarro Sistemas", "lead", "warm", 48),
        ("Emily", "Chen", "Head of Growth", "Brightline Labs", "mql", "warm", 55),
        ("Javier", "Moreno", "Gerente General", "Moreno & Asociados", "lead", "cold", 21),
        ("Paula", "Castillo", "Product Owner", "Cumbre Software", "subscriber", "cold", 12),
        ("Andrés", "Vidal", "COO", "Vidal Retail", "customer", "hot", 91),
        ("Olivia", "Brooks", "Procurement Lead", "Harbor Foods", "lead", "cold", 18),
        ("Mateo", "Herrera", "CTO", "Herrera Digital", "sql", "warm", 59),
        ("Valeria", "Rojas", "Marketing Analyst", "Andes Energía", "lead", "cold", 9),
        ("Noah", "Patel", "Founder", "Patel Robotics", "mql", "hot", 73),
    ]
    now = timezone.now()
    for i, (first, last, title, company, stage, grade, score) in enumerate(people):
        slug = company.lower().replace(" & ", "-").replace(" ", "")
        created = now - timedelta(hours=i * 7 + rnd.randint(0, 5))
        LeadFactory(
            first_name=first,
            last_name=last,
            email=f"{first.lower().replace('í', 'i').replace('é', 'e')}.{last.lower()}@{slug}.example",
            job_title=title,
            company_name=company,
            company=CompanyFactory(name=company, domain=f"{slug}.example", industry="Software", size="51-200"),
            lifecycle_stage=stage,
            grade=grade,
            score=score,
            owner=None if i % 5 == 4 else reps[i % 2],
            team=team,
            city="Madrid" if i % 2 else "Bogotá",
            country="ES" if i % 2 else "CO",
            created_at=created,
            updated_at=created,
        )
    featured = services.create_lead(
        actor=reps[0],
        data={
            "first_name": "Isabel",
            "last_name": "Montalvo",
            "email": "isabel.montalvo@cumbre.example",
            "phone": "+34 612 345 678",
            "job_title": "Head of Operations",
            "company_name": "Cumbre Software",
            "street_address": "Calle de Alcalá 45",
            "city": "Madrid",
            "region": "Madrid",
            "postal_code": "28014",
            "country": "ES",
            "language": "es",
        },
        channel="web_form",
    )
    services.update_lead(actor=manager, lead_id=featured.pk, changes={"lifecycle_stage": "mql", "status": "working"})
    services.add_note(actor=reps[0], lead_id=featured.pk, text="Called Isabel: wants a demo next Tuesday at 10:00.")
    return manager, featured


def test_screenshots(page: Any, live_server: Any, tmp_path: Path) -> None:
    """Renders the main pages at 1280x800 (and the list at phone width). Set EMBUDO_SCREENSHOTS=1 to
    refresh docs/screenshots/; otherwise they go to a temporary directory."""
    out = SCREENSHOT_DIR if os.environ.get("EMBUDO_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    manager, featured = _demo_data()

    page.goto(f"{live_server.url}/accounts/login/")
    page.screenshot(path=str(out / "login.png"))
    log_in(page, live_server.url, manager.email)
    page.screenshot(path=str(out / "lead-list.png"))
    page.goto(f"{live_server.url}/leads/{featured.pk}/")
    assert page.get_by_text("wants a demo").is_visible()
    page.screenshot(path=str(out / "lead-page.png"))
    page.goto(f"{live_server.url}/leads/new/")
    page.screenshot(path=str(out / "lead-form.png"), full_page=True)

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server.url}/leads/")
    assert page.get_by_role("link", name="Leads").first.is_hidden()  # the nav collapses behind the menu button
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(out / "lead-list-mobile.png"))
    page.get_by_role("button", name="Menu").click()
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").is_visible()
