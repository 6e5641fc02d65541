"""The inbox order on PostgreSQL agrees with the pure domain order; snoozes, filters and scoping."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import time_machine

from embudo.inbox import selectors
from embudo.inbox.domain import priority
from embudo.inbox.models import Snooze
from embudo.inbox.selectors import InboxFilters
from embudo.inbox.tests.conftest import NOW, World, make_clock, make_lead

pytestmark = pytest.mark.django_db


def ids(world: World, **filters: object) -> list[int]:
    page = selectors.list_inbox(world.rep, filters=InboxFilters(**filters), now=NOW)  # type: ignore[arg-type]
    return [r.lead_id for r in page.rows]


def test_sql_order_matches_the_domain_order(world: World) -> None:
    rng = random.Random(7)
    cands = []
    for i in range(40):
        grade = rng.choice(["cold", "warm", "hot"])
        lead = make_lead(world.rep, world.team, grade=grade, score=rng.choice([0, 10, 10, 50, 90]),
                         updated_at=NOW - timedelta(minutes=rng.choice([5, 50, 500])))  # fmt: skip
        due = None
        if i % 3 == 0:
            due = NOW + timedelta(minutes=rng.randint(-120, 240))
            make_clock(world, lead, due)
        cands.append(priority.Candidate(lead.pk, grade, lead.score, lead.updated_at, due))
    expected = [c.lead_id for c in priority.prioritize(cands, NOW)]
    assert ids(world) == expected


def test_only_own_open_leads(world: World) -> None:
    mine = make_lead(world.rep, world.team)
    make_lead(world.other_rep, world.team)
    make_lead(None, world.team)
    make_lead(world.rep, world.team, lifecycle_stage="disqualified", status="disqualified")
    make_lead(world.rep, world.team, lifecycle_stage="customer")
    make_lead(world.rep, world.team, status="converted")
    make_lead(world.rep, world.team, outcome="lost")
    assert ids(world) == [mine.pk]


def test_a_snoozed_lead_comes_back_when_the_time_passes(world: World) -> None:
    lead = make_lead(world.rep, world.team)
    Snooze.objects.create(user=world.rep, lead=lead, until=NOW + timedelta(hours=1), created_at=NOW)
    with time_machine.travel(NOW, tick=False):
        assert ids(world) == []
        assert selectors.count_inbox(world.rep, now=NOW)["snoozed"] == 1
    later = NOW + timedelta(hours=1, seconds=1)
    with time_machine.travel(later, tick=False):
        page = selectors.list_inbox(world.rep, filters=InboxFilters(), now=later)
        assert [r.lead_id for r in page.rows] == [lead.pk]
    # Someone else's snooze does not hide it from the rep.
    Snooze.objects.filter(lead=lead).update(user=world.other_rep)
    assert ids(world) == [lead.pk]


def test_breached_clock_keeps_the_lead_on_top_until_touched(world: World) -> None:
    hot = make_lead(world.rep, world.team, grade="hot", score=99)
    cold = make_lead(world.rep, world.team, grade="cold", score=1)
    make_clock(world, cold, NOW - timedelta(minutes=30), status="breached")
    assert ids(world) == [cold.pk, hot.pk]
    row = selectors.list_inbox(world.rep, filters=InboxFilters(), now=NOW).rows[0]
    assert row.sla_state == "breached" and row.sla_policy == world.policy.name
    # Met (touched late) clocks no longer count.
    cold_clock = cold.pk
    from embudo.sla.models import SlaClock

    SlaClock.objects.filter(lead_id=cold_clock).update(met_at=NOW)
    assert ids(world) == [hot.pk, cold.pk]


def test_filters(world: World) -> None:
    hot = make_lead(world.rep, world.team, grade="hot", source="webinar", lifecycle_stage="mql",
                    first_name="Zoe", last_name="Zapata")  # fmt: skip
    soon = make_lead(world.rep, world.team, grade="cold", source="ads")
    late = make_lead(world.rep, world.team, grade="warm")
    make_clock(world, soon, NOW + timedelta(minutes=30))
    make_clock(world, late, NOW - timedelta(minutes=1))
    assert ids(world, grade="hot") == [hot.pk]
    assert ids(world, source="webinar") == [hot.pk]
    assert ids(world, lifecycle="mql") == [hot.pk]
    assert ids(world, sla="breaching") == [late.pk]
    assert ids(world, sla="due_soon") == [late.pk, soon.pk]
    assert ids(world, search="zapata") == [hot.pk]
    assert ids(world, search="100%_") == []


def test_filters_round_trip_through_a_query_string(world: World) -> None:
    f = InboxFilters(grade="hot", sla="due_soon", overdue_task=True, search="ana")
    from django.http import QueryDict

    assert InboxFilters.from_query(QueryDict(f.to_query())) == f
    assert InboxFilters.from_query({"grade": "boiling", "lifecycle": "customer", "sla": "x"}) == InboxFilters()


def test_pages_of_fifty(world: World) -> None:
    for i in range(selectors.PAGE_SIZE + 3):
        make_lead(world.rep, world.team, score=i)
    first = selectors.list_inbox(world.rep, filters=InboxFilters(), now=NOW)
    second = selectors.list_inbox(world.rep, filters=InboxFilters(), page=2, now=NOW)
    assert len(first.rows) == 50 and first.has_next
    assert len(second.rows) == 3 and not second.has_next
    assert {r.lead_id for r in first.rows}.isdisjoint({r.lead_id for r in second.rows})


def test_team_view(world: World) -> None:
    waiting = make_lead(None, world.team, created_at=NOW - timedelta(hours=5))
    newer = make_lead(None, world.team, created_at=NOW - timedelta(hours=1))
    breaching = make_lead(world.rep, world.team, grade="hot")
    make_lead(world.rep, world.team, grade="hot")
    make_clock(world, breaching, NOW - timedelta(minutes=3))
    view = selectors.team_view(world.manager, now=NOW)
    assert [u.lead_id for u in view.unassigned] == [waiting.pk, newer.pk]
    assert [c.lead_id for c in view.breaching] == [breaching.pk]
    assert view.breaching[0].owner_name == "Rita Rep"
    load = {r.user_id: r for r in view.workload}
    assert load[world.rep.pk].open_leads == 2 and load[world.rep.pk].hot_leads == 2
    assert load[world.rep.pk].at_risk == 1
    assert load[world.other_rep.pk].open_leads == 0
    # A manager of another team sees none of it; an admin sees everything.
    from embudo.accounts.tests.factories import TeamFactory, UserFactory

    elsewhere = UserFactory(role="manager", teams=[TeamFactory(name="Andes", slug="andes")])
    other_view = selectors.team_view(elsewhere, now=NOW)
    assert other_view.unassigned == [] and other_view.breaching == []
    admin = UserFactory(role="admin")
    assert len(selectors.team_view(admin, now=NOW).breaching) == 1


def test_overdue_task_filter_and_next_task(world: World) -> None:
    from embudo.followups.models import Task

    late = make_lead(world.rep, world.team)
    on_time = make_lead(world.rep, world.team)
    for lead, due in ((late, NOW - timedelta(hours=2)), (on_time, NOW + timedelta(hours=2))):
        Task.objects.create(lead=lead, assignee=world.rep, kind="call", title=f"Call {lead.pk}", due_at=due,
                            created_at=NOW, updated_at=NOW)  # fmt: skip
    assert ids(world, overdue_task=True) == [late.pk]
    rows = {r.lead_id: r for r in selectors.list_inbox(world.rep, filters=InboxFilters(), now=NOW).rows}
    assert rows[late.pk].next_task.title == f"Call {late.pk}" and rows[late.pk].next_task_overdue
    assert rows[on_time.pk].next_task is not None and not rows[on_time.pk].next_task_overdue
