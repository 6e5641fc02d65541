"""Scoring in a real browser: a marketing user drafts a rule (pricing page +20), backtests it, publishes it and
watches the rescore finish; "why this score" on the lead page matches the API line by line; a rep disqualifies
a lead with a reason and completes BANT to make another lead an SQL."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from procrastinate.contrib.django import app as procrastinate_app

from embudo.accounts import services as account_services
from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring import selectors, services
from embudo.tracking import services as tracking_services
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DIRECTOR = {
    "kind": "fit",
    "label": "Director",
    "points": 40,
    "conditions": [{"field": "job_title", "op": "contains", "value": ["director"]}],
}


def _run_worker() -> None:
    """What `embudo worker` does: run the deferred jobs (backtest, rescore after publishing). In a thread of
    its own: Playwright's sync API keeps an event loop running in this one."""

    def work() -> None:
        try:
            with procrastinate_app.replace_connector(procrastinate_app.connector.get_worker_connector()) as app:  # type: ignore[attr-defined]
                app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=60)


def _api_breakdown(user_email: str, lead_id: int) -> list[tuple[str, int]]:
    """The API's "why this score" (GET /api/v1/leads/{id}/score): [(label, points)] of the rules giving points."""
    _, token = account_services.create_api_token(user_email=user_email, name="e2e")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(f"/api/v1/leads/{lead_id}/score")
    assert response.status_code == 200, f"the score API answered {response.status_code}: {response.content[:300]!r}"
    return [(line["label"], int(line["points"])) for line in response.json()["breakdown"] if int(line["points"])]


def test_draft_backtest_publish_and_explain(page: Any, live_server: Any, empty_job_queue: None) -> None:
    UserFactory(email="mara@example.com", full_name="Mara Marketing", role=Role.MARKETING)
    draft = services.create_draft(actor=None)
    services.update_draft(draft.pk, actor=None, rules=[DIRECTOR])
    services.publish(draft.pk, actor=None, rescore="now")
    lead = LeadFactory(first_name="Dora", last_name="Díaz", job_title="Director of IT")
    services.score_leads([lead.pk], cause="captured")  # what intake does for a new lead
    tracking_services.ingest_events(
        [{"type": "page_view", "lead_id": lead.pk, "properties": {"url": "https://acme.example/pricing"}}],
        scope="e2e",
        source="api",
    )
    assert Lead.objects.get(pk=lead.pk).score == 40  # the pricing visit scores nothing yet

    log_in(page, live_server.url, "mara@example.com")
    page.get_by_role("navigation", name="Main").get_by_text("More").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Scoring").click()
    page.wait_for_url(f"{live_server.url}/scoring/")
    page.get_by_role("button", name="New draft from published").click()
    page.wait_for_url(re.compile(r".*/scoring/versions/\d+/$"))
    assert page.get_by_text("Director", exact=True).is_visible()  # copied from the published model

    # Add an engagement rule without reloading the page.
    page.get_by_role("link", name="Add engagement rule").click()
    page.get_by_label("Label").fill("Pricing page")
    page.get_by_label("Points (negative allowed)").fill("20")
    page.get_by_label("Event type").fill("page_view")
    page.get_by_label("Property 1").fill("url")
    page.get_by_label("Operator 1").select_option("contains")
    page.get_by_label("Value 1").fill("/pricing")
    page.get_by_role("button", name="Save rule").click()
    rules = page.locator("#engagement-rules")
    rules.get_by_text("Pricing page").wait_for()
    assert "+20 points" in rules.inner_text() and "page_view" in rules.inner_text()
    # Editing in place: the other rule opens its form and cancels back to its row.
    page.get_by_role("link", name="Edit Director").click()
    page.get_by_label("Value 1").first.wait_for()
    assert page.get_by_label("Value 1").first.input_value() == "director"
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name="Edit Director").wait_for()

    # Backtest: runs as a job, the page polls until the diff is there.
    page.get_by_role("link", name="Backtest").click()
    page.get_by_role("button", name="Run backtest").click()
    page.get_by_text("Backtest running").wait_for()
    _run_worker()
    page.get_by_role("heading", name="Draft compared with the published model").wait_for()
    matrix = page.get_by_role("table", name="Grades: published (rows) → draft (columns)")
    cold_row = matrix.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Cold"))
    assert cold_row.get_by_role("cell").nth(1).inner_text() == "1"  # Dora: cold → warm
    assert page.get_by_role("link", name="Dora Díaz").is_visible()

    # Publish (confirm) → the progress bar polls until the rescore completes.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(re.compile(r".*/scoring/versions/\d+/$"))
    page.get_by_text("Rescore queued").or_(page.get_by_text("Rescoring every lead")).or_(
        page.get_by_text("Rescore complete")
    ).first.wait_for()
    _run_worker()
    page.get_by_text("Rescore complete").wait_for(timeout=15_000)
    assert Lead.objects.get(pk=lead.pk).score == 60

    # "Why 60?" on the lead page, line by line, as the API gives it.
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    panel = page.locator("#scoring-panel")
    panel.get_by_role("heading", name="Why 60?").wait_for()
    shown = [
        (row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text())
        for row in panel.locator("table.why tbody tr").all()
    ]
    expected = [(label, f"+{points}" if points > 0 else f"−{-points}") for label, points in _api_breakdown(
        "mara@example.com", lead.pk
    )]  # fmt: skip
    assert shown == expected == [("Director", "+40"), ("Pricing page", "+20")]
    explained = selectors.explain(lead.pk)
    assert sum(line.points for line in explained) == 60


def test_a_rep_disqualifies_a_lead_and_completes_bant(page: Any, live_server: Any) -> None:
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", role=Role.SALES_REP)
    spam = LeadFactory(first_name="Sam", last_name="Spam", owner=rep, lifecycle_stage="mql")
    good = LeadFactory(first_name="Gina", last_name="Good", owner=rep, lifecycle_stage="mql")
    log_in(page, live_server.url, "rita@example.com")

    page.goto(f"{live_server.url}/leads/{spam.pk}/")
    panel = page.locator("#scoring-panel")
    panel.get_by_text("Disqualify…").click()
    panel.get_by_role("button", name="Disqualify", exact=True).click()  # no reason: the browser refuses
    assert Lead.objects.get(pk=spam.pk).lifecycle_stage == "mql"
    panel.get_by_label("Reason").select_option("other")
    panel.get_by_role("button", name="Disqualify", exact=True).click()
    panel.get_by_text("Say why the lead is disqualified.").wait_for()  # "Other" needs details
    panel.get_by_label("Reason").select_option("other")
    panel.get_by_label("Details (required for “Other”)").fill("Asked for a job, not a product")
    panel.get_by_role("button", name="Disqualify", exact=True).click()
    panel.get_by_test_id("lifecycle-stage").filter(has_text="Disqualified").wait_for()
    assert panel.get_by_text("Other: Asked for a job, not a product").is_visible()
    spam.refresh_from_db()
    assert (spam.lifecycle_stage, spam.lifecycle_reason) == ("disqualified", "other: Asked for a job, not a product")

    page.goto(f"{live_server.url}/leads/{good.pk}/")
    panel = page.locator("#scoring-panel")
    panel.get_by_label("Budget").fill("20,000 EUR")
    panel.get_by_label("Authority").fill("CTO signs")
    panel.get_by_role("button", name="Save BANT").click()
    panel.get_by_text("2/4 known").wait_for()
    assert panel.get_by_test_id("lifecycle-stage").inner_text() == "Marketing qualified"
    panel.get_by_label("Need").fill("Replace spreadsheets")
    panel.get_by_label("Timing").fill("This quarter")
    panel.get_by_role("button", name="Save BANT").click()
    panel.get_by_text("4/4 known").wait_for()
    assert panel.get_by_test_id("lifecycle-stage").inner_text() == "Sales qualified"
    assert Lead.objects.get(pk=good.pk).lifecycle_stage == "sql"
    # The page header and the timeline follow the panel without a reload.
    page.locator("#lead-chips .stage").filter(has_text="Sales qualified").wait_for()
    page.locator("#lead-timeline").get_by_text("Sales qualified").first.wait_for()

    # Phone width: the panel fits (no sideways scrolling) and is keyboard operable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    panel = page.locator("#scoring-panel")
    panel.get_by_role("button", name="Save BANT").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    panel.get_by_label("Timing").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Save BANT"
