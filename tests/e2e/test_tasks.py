"""Tasks in a real browser: add a follow-up from the lead page's tasks card, find it in "My day", complete it
without a reload, reschedule another; no serious or critical axe violations on either screen."""

from __future__ import annotations

import importlib
import os
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core import clock
from embudo.followups import domain, services
from embudo.followups.models import Task
from embudo.leads.tests.factories import LeadFactory
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page: Any, name: str, selector: str = "") -> None:
    """EMBUDO_SHOTS=<dir> saves screenshots (for the README and for review)."""
    folder = os.environ.get("EMBUDO_SHOTS")
    if folder:
        target = page.locator(selector) if selector else page
        target.screenshot(path=f"{folder}/{name}.png", **({} if selector else {"full_page": True}))


def serious_violations(page: Any, context: str | None = None) -> list[str]:
    axe = importlib.import_module("axe_playwright_python.sync_playwright").Axe()  # untyped package
    results = axe.run(page, context=context)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def test_a_rep_adds_a_task_sees_it_in_my_day_and_completes_it(page: Any, live_server: Any) -> None:
    team = TeamFactory(name="Iberia", slug="iberia", time_zone="Europe/Madrid")
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", role=Role.SALES_REP, teams=[team])
    lead = LeadFactory(first_name="Lola", last_name="Lead", owner=rep, team=team, grade="hot")
    other = LeadFactory(first_name="Otto", last_name="Overdue", owner=rep, team=team)
    services.create_task(actor=rep, lead_id=other.pk, kind="email", title="Send the brochure",
                         due_at=clock.now() - timedelta(hours=3))  # fmt: skip

    log_in(page, live_server.url, "rita@example.com")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    card = page.locator("#tasks-card")
    card.get_by_text("No open tasks.").wait_for()
    card.get_by_label("What to do").fill("Call about the proposal")
    card.get_by_label("Pick a date").check()
    assert card.get_by_label("Date", exact=True).is_visible()
    shot(page, "tasks-lead-card-form", "#tasks-card")
    card.get_by_label("In 1 hour").check()
    assert not card.get_by_label("Date", exact=True).is_visible()
    card.get_by_role("button", name="Add task").click()
    row = card.locator(".task-row", has_text="Call about the proposal")
    row.wait_for()
    assert "in 1" in row.inner_text() or "in 59" in row.inner_text()  # "in 1 hour" / "in 59 minutes"
    assert Task.objects.get(title="Call about the proposal").assignee_id == rep.pk
    assert serious_violations(page, "#tasks-card") == []
    shot(page, "tasks-lead-card", "#tasks-card")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    page.wait_for_url(f"{live_server.url}/tasks/")
    # "In 1 hour" is later today, or tomorrow when the test runs late in the evening in Madrid.
    task = Task.objects.get(title="Call about the proposal")
    bucket = domain.bucket_of(task.due_at, clock.now(), ZoneInfo("Europe/Madrid"))
    assert "Call about the proposal" in page.locator(f".task-section--{bucket.value}").inner_text()
    overdue = page.locator(".task-section--overdue")
    assert "Send the brochure" in overdue.inner_text() and overdue.locator(".task-row--overdue").count() == 1
    assert serious_violations(page) == []
    shot(page, "tasks-my-day")

    page.evaluate("window.__noReload = true")
    page.get_by_role("button", name="Mark “Call about the proposal” done").click()
    page.locator(".task-section--done", has_text="Call about the proposal").wait_for()
    assert page.evaluate("window.__noReload") is True  # completed through htmx, no page load
    assert Task.objects.get(title="Call about the proposal").completed_at is not None
    assert page.locator("[data-tasks-status]").text_content() == "Task done."

    # Snooze the overdue one to tomorrow 9:00: it leaves "Overdue".
    page.locator(".task-row", has_text="Send the brochure").get_by_text("Reschedule").click()
    shot(page, "tasks-reschedule")
    page.get_by_role("button", name="Tomorrow 9:00").click()
    page.locator(".task-section--upcoming", has_text="Send the brochure").wait_for()
    assert "Nothing overdue." in page.locator(".task-section--overdue").inner_text()
    assert serious_violations(page) == []


def test_my_day_fits_a_phone(page: Any, live_server: Any) -> None:
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", role=Role.SALES_REP)
    lead = LeadFactory(first_name="Lola", last_name="Lead", owner=rep)
    services.create_task(actor=rep, lead_id=lead.pk, kind="call", title="Call back",
                         due_at=clock.now() + timedelta(hours=2))  # fmt: skip
    log_in(page, live_server.url, "rita@example.com")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/tasks/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.get_by_role("button", name="Mark “Call back” done").is_visible()
    shot(page, "tasks-my-day-phone")
