"""The pipeline board in a real browser: drag a card to another column, drop one on Lost (the reason dialog),
move one with the keyboard ("Move to…"), the list view, a phone-width board; no serious axe violations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.pipeline import services
from embudo.pipeline.models import Deal, Stage
from tests.e2e.conftest import log_in, serious_accessibility_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _column(page: Any, key: str) -> Any:
    stage = Stage.objects.get(team__isnull=True, key=key)
    return page.locator(f'[data-dropzone][data-stage-id="{stage.pk}"]')


def test_rep_moves_deals_by_drag_and_drop_dialog_and_keyboard(page: Any, live_server: Any) -> None:
    team = TeamFactory.create(name="Iberia", slug="iberia")
    rep = UserFactory.create(email="lucia@example.com", full_name="Lucia Rep", role=Role.SALES_REP, teams=[team])
    leads = {
        name: LeadFactory.create(first_name=name, last_name="Test", owner=rep, team=team, grade="hot", score=80)
        for name in ("Ana", "Bruno", "Carla")
    }
    for lead in leads.values():
        services.set_amount(actor=rep, lead_id=lead.pk, amount="1000")

    log_in(page, live_server.url, rep.email)
    page.goto(f"{live_server.url}/pipeline/")
    new, contacted, lost = _column(page, "new"), _column(page, "contacted"), _column(page, "lost")
    expect(new.locator("[data-count]")).to_have_text("3 deals")
    expect(page.locator(f"#deal-{leads['Ana'].pk}")).to_contain_text("1,000 EUR")
    assert serious_accessibility_violations(page) == []

    # Drag Ana to Contacted.
    page.locator(f"#deal-{leads['Ana'].pk}").drag_to(contacted)
    expect(contacted.locator("[data-count]")).to_have_text("1 deal")
    expect(contacted.locator(f"#deal-{leads['Ana'].pk}")).to_be_visible()
    assert Deal.objects.get(lead=leads["Ana"]).stage.key == "contacted"

    # Drop Bruno on Lost: the dialog asks why; an empty reason is refused.
    page.locator(f"#deal-{leads['Bruno'].pk}").drag_to(lost)
    dialog = page.get_by_role("dialog", name="Why was this deal lost?")
    expect(dialog).to_be_visible()
    assert serious_accessibility_violations(page) == []
    dialog.get_by_role("button", name="Mark lost").click()
    expect(dialog).to_be_visible()
    assert Deal.objects.get(lead=leads["Bruno"]).stage.key == "new"
    dialog.get_by_label("Lost reason").fill("Chose a competitor")
    dialog.get_by_role("button", name="Mark lost").click()
    expect(lost.locator(f"#deal-{leads['Bruno'].pk}")).to_contain_text("Chose a competitor")
    bruno = Lead.objects.get(pk=leads["Bruno"].pk)
    assert (bruno.outcome, bruno.outcome_reason) == ("lost", "Chose a competitor")

    # Keyboard: Carla's "Move to…" select, then the Move button with Enter.
    select = page.get_by_label("Move Carla Test", exact=True)
    select.focus()
    select.select_option(label="Proposal sent")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    proposal = _column(page, "proposal_sent")
    expect(proposal.locator(f"#deal-{leads['Carla'].pk}")).to_be_visible()
    expect(page.get_by_label("Move Carla Test", exact=True)).to_be_focused()
    assert Deal.objects.get(lead=leads["Carla"]).stage.key == "proposal_sent"
    expect(new.locator("[data-count]")).to_have_text("0 deals")

    # The list view of the same deals, sorted by amount.
    page.get_by_role("link", name="List").click()
    expect(page.get_by_role("table")).to_contain_text("Carla Test")
    assert serious_accessibility_violations(page) == []


def test_board_at_phone_width_scrolls_columns(browser: Any, live_server: Any) -> None:
    team = TeamFactory.create(name="Iberia", slug="iberia")
    rep = UserFactory.create(email="emma@example.com", role=Role.SALES_REP, teams=[team])
    lead = LeadFactory.create(owner=rep, team=team)
    services.set_amount(actor=rep, lead_id=lead.pk, amount=Decimal("500"))
    context = browser.new_context(viewport={"width": 390, "height": 800}, locale="en-US")
    page = context.new_page()
    try:
        log_in(page, live_server.url, rep.email)
        page.goto(f"{live_server.url}/pipeline/")
        board = page.locator("[data-board]")
        expect(board).to_be_visible()
        scrolls = board.evaluate("el => el.scrollWidth > el.clientWidth")
        page_overflows = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert scrolls and not page_overflows
        assert serious_accessibility_violations(page) == []
    finally:
        context.close()
