"""The lead page in a real browser: inline-edit the phone (an error, then success), Esc cancels an edit (even
before htmx has bound the form), filter the timeline (the URL follows), load older entries, and no serious
accessibility violations at desktop and phone widths (without horizontal scrolling)."""

from __future__ import annotations

from typing import Any

import pytest

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.leads import services, views
from embudo.leads.models import Lead
from tests.e2e.conftest import log_in, serious_accessibility_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_rep_edits_the_phone_filters_the_timeline_and_loads_older(
    page: Any, live_server: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(views, "TIMELINE_PAGE_SIZE", 5)
    team = TeamFactory(name="Sur", slug="sur")
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", role=Role.SALES_REP, teams=[team])
    lead = services.create_lead(
        actor=rep,
        data={"first_name": "Marta", "last_name": "Gómez", "email": "marta@acme.example", "phone": "+34600111222",
              "job_title": "CTO", "company_name": "Acme", "city": "Madrid", "country": "ES"},
    )  # fmt: skip
    for i in range(7):
        services.add_note(actor=rep, lead_id=lead.pk, text=f"Note number {i}")

    log_in(page, live_server.url, "rita@example.com")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Marta Gómez"
    assert page.get_by_role("link", name="Call").get_attribute("href") == "tel:+34600111222"
    assert page.get_by_role("link", name="WhatsApp").get_attribute("href") == "https://wa.me/34600111222"

    # Inline edit: the Contact card becomes a form; a bad phone is an inline, labelled error.
    card = page.locator("#card-contact")
    card.get_by_role("link", name="Edit contact").click()
    phone = card.get_by_label("Phone")
    phone.wait_for()
    page.wait_for_function("document.activeElement.name === 'contact-first_name'")  # focus moved into the form
    phone.fill("call me maybe")
    card.get_by_role("button", name="Save").click()
    card.locator(".errorlist").wait_for()
    assert card.get_by_label("Phone").get_attribute("aria-invalid") == "true"
    assert "phone number" in card.locator("#id_contact-phone_error").inner_text()
    page.wait_for_function("document.activeElement.name === 'contact-phone'")  # focus on the invalid field
    card.get_by_label("Phone").fill("+34 611 222 333")
    card.get_by_role("button", name="Save").click()
    card.get_by_role("link", name="Edit contact").wait_for()
    assert "+34611222333" in card.inner_text()
    assert Lead.objects.get(pk=lead.pk).phone == "+34611222333"
    # The header and the timeline refresh (HX-Trigger: lead-changed).
    page.locator("#lead-head a[href='tel:+34611222333']").wait_for()
    page.locator("#lead-timeline").get_by_text("changed phone from").wait_for()

    # Esc cancels an edit and gives the focus back to the card's Edit link.
    page.locator("#card-address").get_by_role("link", name="Edit address").click()
    city = page.locator("#card-address").get_by_label("City")
    city.wait_for()
    city.fill("Sevilla")
    city.press("Escape")
    page.locator("#card-address form").wait_for(state="detached")
    assert "Madrid" in page.locator("#card-address").inner_text()
    page.wait_for_function("document.activeElement.getAttribute('aria-label') === 'Edit address'")

    # Filter the timeline: the card swaps and the address bar follows.
    timeline = page.locator("#lead-timeline")
    assert timeline.locator("[data-timeline-filter='notes'] .filter-chip__count").inner_text() == "7"
    timeline.locator("[data-timeline-filter='notes']").click()
    page.wait_for_url(f"{live_server.url}/leads/{lead.pk}/?timeline=notes")
    page.locator("#lead-timeline [data-timeline-filter='notes'][aria-current='true']").wait_for()
    assert page.locator("#lead-timeline .timeline__item").count() == 5
    assert "changed phone" not in page.locator("#lead-timeline").inner_text()

    # Load older: the rest of the notes, oldest last; no more "Load older".
    page.locator("#lead-timeline").get_by_role("link", name="Load older").click()
    page.locator("#lead-timeline .timeline__item").nth(6).wait_for()
    assert page.locator("#lead-timeline .timeline__item").count() == 7
    assert page.locator("#lead-timeline .timeline__item").last.inner_text().count("Note number 0") == 1
    assert page.locator("#lead-timeline").get_by_role("link", name="Load older").count() == 0

    # Back to All.
    page.locator("#lead-timeline [data-timeline-filter='all']").click()
    page.wait_for_url(f"{live_server.url}/leads/{lead.pk}/")

    # Accessibility and layout, at a desktop and a phone width.
    page.wait_for_load_state("networkidle")
    assert serious_accessibility_violations(page) == []
    assert _no_horizontal_scroll(page)
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    page.wait_for_load_state("networkidle")
    assert _no_horizontal_scroll(page)
    assert serious_accessibility_violations(page) == []
    # One column: the timeline comes after the record cards.
    assert page.evaluate(
        "document.getElementById('lead-timeline').getBoundingClientRect().top"
        " > document.getElementById('card-contact').getBoundingClientRect().top"
    )
    page.set_viewport_size({"width": 360, "height": 740})
    assert _no_horizontal_scroll(page)
    # The inline form fits a phone too.
    page.locator("#card-contact").get_by_role("link", name="Edit contact").click()
    page.locator("#card-contact form").wait_for()
    assert _no_horizontal_scroll(page)
    assert serious_accessibility_violations(page) == []


def test_esc_right_after_the_form_appears_cancels_in_place(page: Any, live_server: Any) -> None:
    """Esc before htmx has bound the swapped-in form (its settle step, held here for 2 s) still cancels through
    htmx: the card comes back with the focus on its Edit link, and the page is not reloaded."""
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", role=Role.SALES_REP, teams=[TeamFactory()])
    data = {"first_name": "Marta", "email": "marta@acme.example", "city": "Madrid"}
    lead = services.create_lead(actor=rep, data=data)
    log_in(page, live_server.url, "rita@example.com")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    page.evaluate("window.notReloaded = true; htmx.config.defaultSettleDelay = 2000")

    page.locator("#card-address").get_by_role("link", name="Edit address").click()
    city = page.locator("#card-address").get_by_label("City")
    city.wait_for()
    city.press("Escape")

    page.locator("#card-address form").wait_for(state="detached")
    page.wait_for_function("document.activeElement.getAttribute('aria-label') === 'Edit address'")
    assert page.evaluate("window.notReloaded === true")
    assert "Madrid" in page.locator("#card-address").inner_text()


def test_rep_follows_the_company_card_to_the_company_leads(page: Any, live_server: Any) -> None:
    from embudo.leads.tests.factories import CompanyFactory, LeadFactory

    team = TeamFactory(name="Sur", slug="sur")
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", role=Role.SALES_REP, teams=[team])
    acme = CompanyFactory(name="Acme Iberia", domain="acme-iberia.es")
    marta = LeadFactory(first_name="Marta", last_name="Gómez", owner=rep, team=team, company=acme)
    LeadFactory(first_name="Pablo", last_name="Ruiz", owner=rep, team=team, company=acme)
    LeadFactory(first_name="Otra", last_name="Empresa", owner=rep, team=team, company=CompanyFactory(name="Globex"))
    services.drain_company_stats()  # what the worker's periodic job does within seconds

    log_in(page, live_server.url, "rita@example.com")
    page.goto(f"{live_server.url}/leads/{marta.pk}/")
    card = page.locator("#card-company")
    card.get_by_role("link", name="2").click()
    page.wait_for_url(f"**/leads/?company={acme.pk}")
    names = page.locator("#lead-results").inner_text()
    assert "Marta" in names and "Pablo" in names and "Otra" not in names
    assert "Acme Iberia" in page.locator(".filters__chip").inner_text()
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="Remove this filter").click()
    page.wait_for_url(f"{live_server.url}/leads/")
    assert "Otra" in page.locator("#lead-results").inner_text()
