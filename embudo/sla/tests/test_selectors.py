"""Speed-to-lead percentiles and SLA compliance on known data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.routing.models import SpeedToLead
from embudo.sla import selectors
from embudo.sla.models import ClockStatus, SlaClock
from embudo.sla.tests.conftest import MONDAY_10, World, make_policy

pytestmark = pytest.mark.django_db


def speed_rows(world: World) -> dict[str, Any]:
    other_team = TeamFactory(name="Americas", slug="americas")
    diego = UserFactory(full_name="Diego")
    start = MONDAY_10 - timedelta(days=2)
    rows = []
    for i in range(1, 11):  # Iberia, web: assigned after 10, 20, … 100 s; first touch after i minutes (even i)
        received = start + timedelta(minutes=i)
        rows.append(SpeedToLead(lead_id=1000 + i, received_at=received,
                                assigned_at=received + timedelta(seconds=10 * i),
                                notified_at=received + timedelta(seconds=10 * i + 1),
                                first_touch_at=received + timedelta(minutes=i) if i % 2 == 0 else None,
                                team_id=world.team.pk, source="web", owner_id=world.rep.pk))  # fmt: skip
    for i in range(1, 5):  # Americas, whatsapp: assigned after 1, 2, 3, 4 s
        received = start + timedelta(hours=i)
        rows.append(SpeedToLead(lead_id=2000 + i, received_at=received, assigned_at=received + timedelta(seconds=i),
                                team_id=other_team.pk, source="whatsapp", owner_id=diego.pk))  # fmt: skip
    rows.append(SpeedToLead(lead_id=3000, received_at=start - timedelta(days=60), assigned_at=start,
                            team_id=world.team.pk, source="web"))  # outside the period  # fmt: skip
    SpeedToLead.objects.bulk_create(rows)
    return {"other_team": other_team, "diego": diego}


def test_percentiles_per_team(world: World) -> None:
    extra = speed_rows(world)
    rows = selectors.speed_to_lead(since=MONDAY_10 - timedelta(days=30), until=MONDAY_10, group_by="team")
    total, iberia, americas = rows
    assert (total.key, total.leads) == ("all", 14)
    assert (iberia.label, iberia.leads) == ("Iberia", 10)
    assert iberia.spans["assigned"].p50_seconds == 55.0  # percentile_cont of 10..100
    assert iberia.spans["assigned"].p95_seconds == 95.5
    assert iberia.spans["notified"].p50_seconds == 56.0
    assert iberia.spans["first_touch"].count == 5
    assert iberia.spans["first_touch"].p50_seconds == 360.0  # 2, 4, 6, 8, 10 minutes
    assert (americas.key, americas.label) == (str(extra["other_team"].pk), "Americas")
    assert americas.spans["assigned"].p50_seconds == 2.5
    assert americas.spans["first_touch"] == selectors.SpanStats(0, None, None)


def test_percentiles_per_source_and_rep_with_filters(world: World) -> None:
    extra = speed_rows(world)
    since, until = MONDAY_10 - timedelta(days=30), MONDAY_10
    by_source = selectors.speed_to_lead(since=since, until=until, group_by="source")
    assert [(r.key, r.leads) for r in by_source] == [("all", 14), ("web", 10), ("whatsapp", 4)]
    by_rep = selectors.speed_to_lead(since=since, until=until, group_by="rep", team_ids=[extra["other_team"].pk])
    assert [(r.label, r.leads) for r in by_rep] == [("all", 4), ("Diego", 4)]
    only = selectors.speed_to_lead(since=since, until=until, source="whatsapp")
    assert [(r.key, r.leads) for r in only] == [("all", 4)]
    assert selectors.list_sources(since=since) == ["web", "whatsapp"]


def test_no_data_gives_an_empty_total(world: World) -> None:
    rows = selectors.speed_to_lead(since=MONDAY_10 - timedelta(days=1), until=MONDAY_10)
    assert [(r.key, r.leads, r.spans["assigned"].p50_seconds) for r in rows] == [("all", 0, None)]


def test_compliance_per_policy(world: World) -> None:
    policy = make_policy()
    statuses = [ClockStatus.MET] * 3 + [ClockStatus.BREACHED, ClockStatus.OPEN]
    from embudo.leads.tests.factories import LeadFactory

    for status in statuses:
        lead = LeadFactory(team=world.team, owner=world.rep)
        SlaClock.objects.create(lead=lead, policy=policy, owner=world.rep, team=world.team, trigger="assigned",
                                status=status, started_at=MONDAY_10 - timedelta(hours=1), due_at=MONDAY_10)  # fmt: skip
    (row,) = selectors.compliance(since=MONDAY_10 - timedelta(days=1), until=MONDAY_10)
    assert (row.met, row.breached, row.open, row.percent) == (3, 1, 1, 75.0)
    assert selectors.compliance(since=MONDAY_10 - timedelta(days=1), until=MONDAY_10, team_ids=[0]) == []
