"""Issue 7's "done when", in a real browser, in English and in Spanish.

A rep's day: log in, open the inbox, open the hottest lead, read why it is hot, log a call, schedule a
follow-up, move the deal across the board to Proposal sent, receive the reminder, mark it Won.
A manager's: see a breaching lead in the team view and reassign it.

Labels are read in the user's language (each step checks a translated word), controls are found by
their stable names so the same walk runs in both languages.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from playwright.sync_api import expect
from procrastinate.contrib.django import app as procrastinate_app

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core import clock
from embudo.followups import tasks as followups_tasks
from embudo.followups.models import Task
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.notifications.models import Notification
from embudo.pipeline import services as pipeline_services
from embudo.pipeline.models import Deal, Stage
from embudo.scoring import services as scoring_services
from embudo.sla.models import SlaClock, SlaPolicy
from tests.e2e.conftest import log_in, serious_accessibility_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WORDS = {
    "en": {"inbox": "Inbox", "why": "Why", "won": "Won", "team": "Team"},
    "es": {"inbox": "Bandeja", "why": "¿Por qué", "won": "Ganado", "team": "equipo"},
}
RULES: list[dict[str, Any]] = [
    {"kind": "fit", "label": "Director", "points": 50,
     "conditions": [{"field": "job_title", "op": "contains", "value": ["director"]}]},
    {"kind": "fit", "label": "Spain", "points": 35,
     "conditions": [{"field": "country", "op": "equals", "value": "ES"}]},
]  # fmt: skip


def run_jobs() -> None:
    """What the worker does in production, once: the events' subscribers (deal moves, task rules…).
    In a thread of its own: Playwright's event loop runs in this one."""
    from django.db import connection

    def work() -> None:
        try:
            with procrastinate_app.replace_connector(procrastinate_app.connector.get_worker_connector()) as app:  # type: ignore[attr-defined]
                app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=60)


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_reps_day_and_a_managers_reassignment(browser: Any, live_server: Any, language: str) -> None:
    words = WORDS[language]
    team = TeamFactory(name="Iberia", slug="iberia", time_zone="Europe/Madrid")
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", teams=[team], language=language)
    other = UserFactory(email="omar@example.com", full_name="Omar Other", teams=[team], language=language)
    UserFactory(email="marta@example.com", full_name="Marta Manager", role=Role.MANAGER, teams=[team],
                language=language)  # fmt: skip
    hottest = LeadFactory(owner=rep, team=team, first_name="Hana", last_name="Hottest", job_title="IT Director",
                          country="ES", phone="+34600111222", email="hana@acme.example")  # fmt: skip
    LeadFactory(owner=rep, team=team, first_name="Wally", last_name="Warm", job_title="Analyst", country="ES")
    LeadFactory(owner=rep, team=team, first_name="Colin", last_name="Cold", job_title="Student", country="MX")
    breaching = LeadFactory(owner=other, team=team, first_name="Bea", last_name="Breach", country="ES")
    draft = scoring_services.create_draft(actor=None)
    scoring_services.update_draft(draft.pk, actor=None, rules=RULES)
    scoring_services.publish(draft.pk, actor=None, rescore="now")
    hottest.refresh_from_db()
    assert (hottest.score, hottest.grade) == (85, "hot")
    for lead in Lead.objects.exclude(pk=breaching.pk):  # assigned yesterday: on the owner's board
        pipeline_services.ensure_deal(lead_id=lead.pk)
    now = clock.now()
    policy = SlaPolicy.objects.create(name="First touch in 10 minutes", trigger="assigned", target_minutes=10,
                                      business_hours=False, created_at=now, updated_at=now)  # fmt: skip
    SlaClock.objects.create(lead=breaching, policy=policy, owner=other, team=team, trigger="assigned",
                            started_at=now - timedelta(minutes=25), due_at=now - timedelta(minutes=15))  # fmt: skip
    locale = "es-ES" if language == "es" else "en-US"

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        # Log in: the day starts in the inbox, the hottest lead first.
        log_in(page, live_server.url, rep.email)
        page.wait_for_url(f"{live_server.url}/inbox/")
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.get_by_role("navigation").first).to_contain_text(words["inbox"])
        first = page.locator("[data-inbox-row]").first
        expect(first).to_contain_text("Hana Hottest")
        assert serious_accessibility_violations(page) == []

        # Open it and read why it is hot: the score panel lists the rules that gave the points.
        first.get_by_role("link", name="Hana Hottest").first.click()
        page.wait_for_url(f"{live_server.url}/leads/{hottest.pk}/")
        page.wait_for_load_state("networkidle")  # the panels load themselves (htmx)
        why = page.locator("#scoring-panel table.why")
        expect(page.locator("#scoring-panel")).to_contain_text(f"{words['why']} 85")
        expect(why).to_contain_text("Director")
        expect(why).to_contain_text("+50")
        expect(why).to_contain_text("Spain")

        # Log a call.
        panel = page.locator("[data-interactions-panel]")
        call = panel.locator("[data-ix-tabpanel=call]")
        call.locator("label:has(input[name=outcome][value=connected])").click()
        expect(call.locator("input[name=outcome][value=connected]")).to_be_checked()
        call.locator("[name=duration]").fill("6:15")
        call.locator("[name=notes]").fill("Wants a proposal for 20 seats.")
        call.locator("button[type=submit]").click()
        expect(page.locator("#lead-timeline")).to_contain_text("6:15")
        run_jobs()  # the logged call moves the new deal to "contacted"
        assert Deal.objects.get(lead=hottest).stage.key == "contacted"

        # Schedule a follow-up in an hour.
        card = page.locator("#tasks-card")
        card.locator("[name=title]").fill("Send the proposal")
        card.locator("label:has(input[name=when][value=in_1h])").click()
        expect(card.locator("input[name=when][value=in_1h]")).to_be_checked()
        card.locator("button[type=submit]").first.click()
        expect(card.locator(".task-row", has_text="Send the proposal")).to_be_visible()
        task = Task.objects.get(title="Send the proposal")
        assert task.assignee_id == rep.pk and task.completed_at is None
        assert serious_accessibility_violations(page) == []

        # Across the board to "Proposal sent" (drag and drop).
        page.goto(f"{live_server.url}/pipeline/")
        proposal = Stage.objects.get(team=None, key="proposal_sent")
        column = page.locator(f'[data-dropzone][data-stage-id="{proposal.pk}"]')
        page.locator(f"#deal-{hottest.pk}").drag_to(column)  # cards are named by lead
        expect(column.locator(f"#deal-{hottest.pk}")).to_be_visible()
        expect(column.locator("[data-count]")).to_contain_text("1")  # the server answered the move
        assert Deal.objects.get(lead=hottest).stage.key == "proposal_sent"
        assert serious_accessibility_violations(page) == []

        # An hour later the reminder arrives: in the bell, and by email (the user's preferences).
        assert task.remind_at is not None
        with time_machine.travel(task.remind_at + timedelta(seconds=5), tick=False):
            followups_tasks.remind(task.pk)
        reminder = Notification.objects.get(user=rep, kind="task_due")
        assert "Send the proposal" in reminder.title
        page.goto(f"{live_server.url}/notifications/")
        expect(page.locator("main")).to_contain_text("Send the proposal")
        expect(page.get_by_role("link", name=re.compile(r", 1 ")).first).to_be_visible()

        # Mark it won from the lead page: the outcome becomes training data for predictive scoring.
        page.goto(f"{live_server.url}/leads/{hottest.pk}/")
        deal_panel = page.locator("#pipeline-panel-card")
        deal_panel.locator("form:has(input[name=action][value=won]) button[type=submit]").click()
        expect(page.locator("#pipeline-panel-card [data-deal-stage]")).to_have_text(words["won"])
        hottest.refresh_from_db()
        assert (hottest.outcome, hottest.lifecycle_stage, hottest.status) == ("won", "customer", "converted")
        assert hottest.closed_at is not None
    finally:
        context.close()

    # The manager sees the breaching lead in the team view and gives it to Rita.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        log_in(page, live_server.url, "marta@example.com")
        page.goto(f"{live_server.url}/inbox/team/")
        expect(page.locator("h1")).to_contain_text(words["team"])
        row = page.locator("[data-team-breaching]", has_text="Bea Breach")
        expect(row).to_contain_text("Omar Other")
        assert serious_accessibility_violations(page) == []
        row.locator("summary").click()
        row.locator("select[name=user_id]").select_option(label="Rita Rep")
        row.locator("input[name=reason]").fill(
            "Omar is at a trade fair" if language == "en" else "Omar está en una feria"
        )
        row.locator("button[type=submit]").click()
        page.wait_for_function(
            "![...document.querySelectorAll('[data-team-breaching]')].some("
            "r => r.innerText.includes('Bea Breach') && r.innerText.includes('Omar Other'))"
        )
        assert Lead.objects.get(pk=breaching.pk).owner_id == rep.pk
    finally:
        context.close()
