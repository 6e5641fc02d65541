"""The SLA dashboard in a real browser: a manager sees a breaching lead and a ticking countdown, and
follows the link to the lead."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core import clock
from embudo.leads.tests.factories import LeadFactory
from embudo.routing.models import SpeedToLead
from embudo.sla import services
from embudo.sla.models import SlaPolicy
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_sees_breaching_lead_and_opens_it(page: Any, live_server: Any) -> None:
    team = TeamFactory(name="Iberia", slug="iberia", time_zone="Europe/Madrid")
    UserFactory(email="marta@example.com", full_name="Marta Manager", role=Role.MANAGER, teams=[team])
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", teams=[team])
    late = LeadFactory(first_name="Lola", last_name="Late", owner=rep, team=team)
    soon = LeadFactory(first_name="Sam", last_name="Soon", owner=rep, team=team)
    now = clock.now()
    SlaPolicy.objects.create(name="Hot lead: first touch within 10 minutes", trigger="assigned", target_minutes=10,
                             business_hours=False, created_at=now, updated_at=now)  # fmt: skip
    with time_machine.travel(now - timedelta(minutes=11), tick=False):
        services.start_clocks(lead_id=late.pk, trigger="assigned")
    with time_machine.travel(now - timedelta(minutes=5), tick=False):
        services.start_clocks(lead_id=soon.pk, trigger="assigned")

    SpeedToLead.objects.bulk_create([
        SpeedToLead(lead_id=900 + i, received_at=now - timedelta(hours=i), team_id=team.pk, source="web",
                    assigned_at=now - timedelta(hours=i) + timedelta(seconds=3 * i),
                    first_touch_at=now - timedelta(hours=i) + timedelta(minutes=4 * i))
        for i in range(1, 9)
    ])  # fmt: skip

    log_in(page, live_server.url, "marta@example.com")
    page.goto(f"{live_server.url}/sla/")
    rows = page.locator("[data-sla-open] tbody tr")
    assert rows.count() == 2
    assert "Iberia" in page.locator(".sla-bars").first.inner_text()
    late_row = rows.filter(has_text="Lola Late")
    assert late_row.locator("[data-sla-state=breached]").inner_text() == "Breached"
    soon_row = rows.filter(has_text="Sam Soon")
    countdown = soon_row.locator("time.sla-countdown")
    first = countdown.inner_text()
    assert "left" in first
    page.wait_for_function(
        "([el, t]) => el.textContent !== t",
        arg=[countdown.element_handle(), first],
    )  # it ticks
    late_row.get_by_role("link", name="Lola Late").click()
    page.wait_for_url(f"{live_server.url}/leads/{late.pk}/")
    assert page.get_by_role("heading", name="Lola Late").is_visible()
