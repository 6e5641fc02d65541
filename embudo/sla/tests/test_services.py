"""SLA clocks under a controlled clock: start, touch, reminder, breach (escalate, reassign), sweeper."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.core.models import DomainEvent
from embudo.notifications.models import Notification
from embudo.routing.models import Assignment, Pool, PoolMember
from embudo.sla import selectors, services
from embudo.sla.models import ClockStatus, SlaClock, Trigger
from embudo.sla.tests.conftest import MONDAY_10, World, make_policy

pytestmark = pytest.mark.django_db


def first_touch_at(lead_id: int) -> Any:
    with connection.cursor() as cursor:
        cursor.execute("SELECT first_touch_at FROM routing_speedtolead WHERE lead_id = %s", [lead_id])
        row = cursor.fetchone()
    return row[0] if row else None


@time_machine.travel(MONDAY_10, tick=False)
def test_assignment_starts_a_clock_with_its_jobs_scheduled(world: World) -> None:
    policy = make_policy()
    services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    started = SlaClock.objects.get()
    assert (started.policy_id, started.owner_id, started.status) == (policy.pk, world.rep.pk, ClockStatus.OPEN)
    assert started.due_at == MONDAY_10 + timedelta(minutes=10)
    assert started.remind_at == MONDAY_10 + timedelta(minutes=5)
    jobs = {j.task_name: j for j in ProcrastinateJob.objects.filter(task_name__startswith="sla.")}
    assert jobs["sla.check_breach"].scheduled_at == started.due_at
    assert jobs["sla.remind"].scheduled_at == started.remind_at
    assert jobs["sla.check_breach"].args == {"clock_id": started.pk}

    services.start_clocks(lead_id=world.lead.pk, trigger="assigned")  # not twice while one is open
    assert SlaClock.objects.count() == 1


@time_machine.travel(MONDAY_10, tick=False)
def test_only_matching_active_policies_of_the_trigger_start(world: World) -> None:
    make_policy(name="hot only", trigger=Trigger.HOT, conditions=[{"field": "grade", "op": "equals", "value": "hot"}])
    make_policy(name="cold only", trigger=Trigger.HOT, conditions=[{"field": "grade", "op": "equals", "value": "cold"}])
    make_policy(name="inactive", trigger=Trigger.HOT, active=False)
    make_policy(name="other trigger", trigger=Trigger.SQL)
    services.start_clocks(lead_id=world.lead.pk, trigger="hot")
    assert [c.policy.name for c in SlaClock.objects.select_related("policy")] == ["hot only"]


@time_machine.travel(MONDAY_10, tick=False)
def test_unowned_lead_starts_no_clock(world: World) -> None:
    make_policy()
    world.lead.owner = None
    world.lead.save()
    services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    assert not SlaClock.objects.exists()


def test_business_hours_use_the_team_calendar(world: World) -> None:
    make_policy(business_hours=True, target_minutes=10, remind_before_minutes=0)
    friday_evening = MONDAY_10 - timedelta(days=3) + timedelta(hours=7, minutes=55)  # Fri 17:55 Madrid
    with time_machine.travel(friday_evening, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    assert SlaClock.objects.get().due_at == MONDAY_10 - timedelta(minutes=55)  # Monday 09:05 Madrid
    assert not ProcrastinateJob.objects.filter(task_name="sla.remind").exists()


def test_a_touch_meets_the_clock_and_marks_speed_to_lead(world: World) -> None:
    make_policy()
    with time_machine.travel(MONDAY_10, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    touch = MONDAY_10 + timedelta(minutes=4)
    with time_machine.travel(touch, tick=False):
        services.record_touch(lead_id=world.lead.pk, kind="call", at=touch, actor_id=world.rep.pk)
        assert not services.breach_clock(SlaClock.objects.get().pk)
    met = SlaClock.objects.get()
    assert (met.status, met.met_at) == (ClockStatus.MET, touch)
    event = DomainEvent.objects.get(type="sla.SlaMet")
    assert event.payload["minutes"] == 4.0 and event.actor_id == world.rep.pk
    assert first_touch_at(world.lead.pk) == touch


def test_reminder_goes_to_the_owner_before_the_deadline_once(world: World) -> None:
    make_policy()
    with time_machine.travel(MONDAY_10, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    c = SlaClock.objects.get()
    with time_machine.travel(MONDAY_10 + timedelta(minutes=4), tick=False):
        assert not services.send_reminder(c.pk)  # too early
    with time_machine.travel(MONDAY_10 + timedelta(minutes=5), tick=False):
        assert services.send_reminder(c.pk)
        assert not services.send_reminder(c.pk)
    note = Notification.objects.get(kind="sla_reminder")
    assert note.user_id == world.rep.pk and note.lead_id == world.lead.pk
    assert "due in 5 min" in note.title


def test_breach_escalates_to_the_teams_managers(world: World) -> None:
    make_policy(escalate=True, reassign=False)
    with time_machine.travel(MONDAY_10, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    c = SlaClock.objects.get()
    with time_machine.travel(MONDAY_10 + timedelta(minutes=9), tick=False):
        assert not services.breach_clock(c.pk)  # not due yet
    with time_machine.travel(MONDAY_10 + timedelta(minutes=10), tick=False):
        assert services.breach_clock(c.pk)
    c.refresh_from_db()
    assert (c.status, c.escalations) == (ClockStatus.BREACHED, 1)
    assert list(Notification.objects.filter(kind="sla_breached").values_list("user_id", flat=True)) == [
        world.manager.pk
    ]
    event = DomainEvent.objects.get(type="sla.SlaBreached")
    assert event.payload["escalated_to"] == [world.manager.pk] and event.payload["reassigned_to"] is None


def _pool_that_assigned(world: World) -> Pool:
    now = MONDAY_10 - timedelta(hours=1)
    pool = Pool.objects.create(name="Iberia reps", team=world.team, created_at=now, updated_at=now)
    PoolMember.objects.create(pool=pool, user=world.rep)
    PoolMember.objects.create(pool=pool, user=world.other_rep)
    Assignment.objects.create(lead_id=world.lead.pk, user=world.rep, team=world.team, pool=pool, created_at=now)
    return pool


def test_breach_reassigns_to_the_next_eligible_rep_who_gets_a_new_clock(world: World) -> None:
    _pool_that_assigned(world)
    policy = make_policy(reassign=True, trigger=Trigger.HOT)
    with time_machine.travel(MONDAY_10, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="hot")
    later = MONDAY_10 + timedelta(minutes=11)
    with time_machine.travel(later, tick=False):
        assert services.sweep() == {"breached": 1, "reminded": 0}
    world.lead.refresh_from_db()
    assert world.lead.owner_id == world.other_rep.pk
    clocks = list(SlaClock.objects.order_by("id"))
    assert [(c.owner_id, c.status) for c in clocks] == [
        (world.rep.pk, ClockStatus.BREACHED), (world.other_rep.pk, ClockStatus.OPEN)
    ]  # fmt: skip
    assert clocks[1].policy_id == policy.pk and clocks[1].due_at == later + timedelta(minutes=10)
    breach = DomainEvent.objects.get(type="sla.SlaBreached")
    assert breach.payload["reassigned_to"] == world.other_rep.pk
    assert breach.payload["reassigned_to_name"] == "Omar Other"
    assert Notification.objects.filter(kind="lead_assigned", user=world.other_rep).exists()


def test_an_assigned_policy_restarts_once_for_the_new_owner(world: World) -> None:
    _pool_that_assigned(world)
    make_policy(reassign=True, trigger=Trigger.ASSIGNED)
    with time_machine.travel(MONDAY_10, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    with time_machine.travel(MONDAY_10 + timedelta(minutes=11), tick=False):
        services.sweep()
    assert SlaClock.objects.filter(status=ClockStatus.OPEN, owner=world.other_rep).count() == 1


def test_a_touched_lead_is_never_reassigned(world: World) -> None:
    _pool_that_assigned(world)
    make_policy(name="SQL", reassign=True, trigger=Trigger.SQL)
    from embudo.routing import services as routing

    routing.mark_speed(world.lead.pk, first_touch=MONDAY_10 - timedelta(days=2))
    with time_machine.travel(MONDAY_10, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="sql")
    with time_machine.travel(MONDAY_10 + timedelta(minutes=11), tick=False):
        services.sweep()
    world.lead.refresh_from_db()
    assert world.lead.owner_id == world.rep.pk
    assert SlaClock.objects.get().status == ClockStatus.BREACHED


def test_a_late_touch_closes_the_clock_as_breached_without_escalation(world: World) -> None:
    make_policy()
    with time_machine.travel(MONDAY_10, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    late = MONDAY_10 + timedelta(minutes=12)
    with time_machine.travel(late, tick=False):
        services.record_touch(lead_id=world.lead.pk, kind="email", at=late, actor_id=world.rep.pk)
        assert services.sweep()["breached"] == 0
    assert SlaClock.objects.get().status == ClockStatus.BREACHED
    assert DomainEvent.objects.get(type="sla.SlaBreached").payload["late_touch"] == "email"
    assert not Notification.objects.filter(kind="sla_breached").exists()


def test_sweeper_is_idempotent(world: World) -> None:
    make_policy()
    with time_machine.travel(MONDAY_10, tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    with time_machine.travel(MONDAY_10 + timedelta(minutes=6), tick=False):
        assert services.sweep() == {"breached": 0, "reminded": 1}
        assert services.sweep() == {"breached": 0, "reminded": 0}
    with time_machine.travel(MONDAY_10 + timedelta(minutes=30), tick=False):
        assert services.sweep() == {"breached": 1, "reminded": 0}
        assert services.sweep() == {"breached": 0, "reminded": 0}
        assert not services.breach_clock(SlaClock.objects.get().pk)  # the scheduled job, later
    assert DomainEvent.objects.filter(type="sla.SlaBreached").count() == 1
    assert Notification.objects.filter(kind="sla_breached").count() == 1


@time_machine.travel(MONDAY_10, tick=False)
def test_reassignment_by_hand_moves_open_clocks_to_the_new_owner(world: World) -> None:
    make_policy(trigger=Trigger.HOT)
    services.start_clocks(lead_id=world.lead.pk, trigger="hot")
    world.lead.owner = world.other_rep
    world.lead.save()
    services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    assert sorted((c.owner_id, c.status) for c in SlaClock.objects.all()) == sorted(
        [(world.rep.pk, ClockStatus.CANCELLED), (world.other_rep.pk, ClockStatus.OPEN)]
    )


def test_start_clocks_query_count(world: World, django_assert_max_num_queries: Any) -> None:
    make_policy(business_hours=True)
    make_policy(name="second", business_hours=True, remind_before_minutes=0)
    # lead, open clocks, policies, calendar, then per clock: insert + 1-2 jobs (+ the test's savepoint).
    with time_machine.travel(MONDAY_10, tick=False), django_assert_max_num_queries(12):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    assert SlaClock.objects.count() == 2


def test_managers_of_a_team_without_managers_fall_back_to_admins(world: World) -> None:
    from embudo.accounts.tests.factories import TeamFactory, UserFactory

    admin = UserFactory(role="admin")
    assert selectors.manager_ids(TeamFactory().pk) == [admin.pk]
    assert selectors.manager_ids(world.team.pk) == [world.manager.pk]


@time_machine.travel(MONDAY_10, tick=False)
def test_a_racing_second_start_opens_nothing(world: World) -> None:
    policy = make_policy()
    assert services._open_clock(world.lead, policy, MONDAY_10, {}) is not None
    assert services._open_clock(world.lead, policy, MONDAY_10, {}) is None  # the partial unique index
    assert SlaClock.objects.count() == 1
    assert ProcrastinateJob.objects.filter(task_name="sla.check_breach").count() == 1
