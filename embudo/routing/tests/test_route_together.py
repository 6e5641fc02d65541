"""``routing.route_leads`` (an import's new unowned leads) routes set-based (``services.route_leads_together``) with
the same outcome as ``route_lead`` one lead at a time, in order."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from embudo.core.models import DomainEvent
from embudo.core.testing import rolled_back
from embudo.leads.tests.factories import LeadFactory
from embudo.notifications.models import Notification
from embudo.routing import services, tasks
from embudo.routing.models import Assignment, Pool, PoolMember, SpeedToLead
from embudo.routing.tests.conftest import build_setup
from embudo.sla import demo as sla_demo
from embudo.sla.models import SlaClock

pytestmark = pytest.mark.django_db


def _state(lead_ids: list[int]) -> dict[str, Any]:
    return {
        "assignments": [
            (a.lead_id, a.user_id, a.rule_name, a.outcome, a.trigger, a.reason,
             [(c["user_id"], c["status"], c["open_leads"]) for c in a.candidates])
            for a in Assignment.objects.filter(lead_id__in=lead_ids).order_by("lead_id", "id")
        ],
        "pools": sorted((p.name, sorted(p.rr_state.items())) for p in Pool.objects.all()),
        "members": sorted(PoolMember.objects.values_list("pool_id", "user_id", "assigned_count")),
        "notifications": sorted(Notification.objects.filter(lead_id__in=lead_ids).values_list("user_id", "lead_id",
                                                                                               "title")),
        "clocks": sorted(SlaClock.objects.filter(lead_id__in=lead_ids).values_list("lead_id", "policy__name",
                                                                                   "owner_id", "status")),
        "speed": sorted(
            (s.lead_id, s.owner_id, s.assigned_at is not None, s.notified_at is not None)
            for s in SpeedToLead.objects.filter(lead_id__in=lead_ids)
        ),
        "events": Counter(DomainEvent.objects.filter(lead_id__in=lead_ids).values_list("type", flat=True)),
    }  # fmt: skip


def test_route_leads_together_equals_route_lead_one_by_one() -> None:
    setup = build_setup()
    sla_demo.seed_demo(teams={}, users={})
    PoolMember.objects.filter(pool=setup.pools["iberia"]).update(capacity=2)  # fills: then the fallback manager
    owned = LeadFactory.create(country="ES", owner=setup.iberia_reps[0])
    countries = ["ES", "MX", "ES", "FR", "ES", "CO", "ES", "ES", "MX", "ES", "ES", "FR", "ES", "PE", "ES"]
    leads = [LeadFactory.create(country=c) for c in countries]
    lead_ids = [lead.pk for lead in leads[:7]] + [owned.pk] + [lead.pk for lead in leads[7:]]

    def one_by_one() -> dict[str, Any]:
        for lead_id in lead_ids:
            services.route_lead(lead_id, trigger="import")
        return _state(lead_ids)

    def together() -> dict[str, Any]:
        results = services.route_leads_together(lead_ids, trigger="import")
        assert results[7] is None  # the owned lead is skipped
        return _state(lead_ids)

    expected, got = rolled_back(one_by_one), rolled_back(together)
    for part in expected:
        assert got[part] == expected[part], part
    outcomes = Counter(a[3] for a in got["assignments"])
    assert outcomes["assigned"] >= 8 and outcomes["fallback_manager"] >= 1 and outcomes["queued"] >= 2, outcomes
    assert got["clocks"], "SLA clocks started for the assigned leads"

    # The job runs it in transactions of ROUTE_TOGETHER_MAX (here 4): the same again.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "ROUTE_TOGETHER_MAX", 4)
        by_job = rolled_back(lambda: (tasks.route_leads(lead_ids, "import"), _state(lead_ids))[1])
    assert by_job == expected
