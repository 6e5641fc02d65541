"""Task services: defaults, validation, permissions, reschedule/complete/reopen/delete, selectors for the inbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.core.models import DomainEvent
from embudo.followups import exceptions, selectors, services
from embudo.followups.models import Task
from embudo.followups.tests.conftest import MONDAY_10, World
from embudo.leads.tests.factories import LeadFactory


@pytest.fixture(autouse=True)
def _monday() -> Any:
    with time_machine.travel(MONDAY_10, tick=False):
        yield


def _jobs(task: Task) -> list[ProcrastinateJob]:
    return list(ProcrastinateJob.objects.filter(task_name="followups.remind", args__task_id=task.pk).order_by("id"))


def test_create_task_defaults_to_the_owner_and_schedules_the_reminder(world: World) -> None:
    due = MONDAY_10 + timedelta(hours=3)
    task = services.create_task(actor=world.manager, lead_id=world.lead.pk, kind="call", title="  Call back ",
                                due_at=due, remind_minutes_before=30)  # fmt: skip
    assert (task.assignee_id, task.created_by_id, task.title) == (world.rep.pk, world.manager.pk, "Call back")
    assert task.remind_at == due - timedelta(minutes=30)
    [job] = _jobs(task)
    assert job.scheduled_at == task.remind_at
    event = DomainEvent.objects.get(type="followups.TaskCreated")
    assert (event.lead_id, event.actor_id) == (world.lead.pk, world.manager.pk)
    assert event.payload["assignee_name"] == "Rita Rep" and event.payload["title"] == "Call back"


def test_an_unowned_lead_gives_the_task_to_the_actor(world: World) -> None:
    lead = LeadFactory(owner=None, team=world.team)
    task = services.create_task(actor=world.rep, lead_id=lead.pk, kind="email", title="Intro",
                                due_at=MONDAY_10 + timedelta(days=1))  # fmt: skip
    assert task.assignee_id == world.rep.pk


def test_a_task_due_in_the_past_is_logged_without_reminder(world: World) -> None:
    task = services.create_task(actor=world.rep, lead_id=world.lead.pk, kind="call", title="Called",
                                due_at=MONDAY_10 - timedelta(hours=1))  # fmt: skip
    assert task.remind_at is None and _jobs(task) == []
    assert services.past_due_warning(task.due_at)


def test_validation_names_every_bad_field(world: World) -> None:
    with pytest.raises(exceptions.InvalidTask) as caught:
        services.create_task(actor=world.rep, lead_id=world.lead.pk, kind="fax", title=" ", due_at=None,  # type: ignore[arg-type]
                             remind_minutes_before=-5)  # fmt: skip
    assert set(caught.value.fields) == {"kind", "title", "due_at", "remind_minutes_before"}
    assert caught.value.status == 422
    assert not Task.objects.exists()


def test_reps_cannot_touch_leads_they_do_not_see(world: World) -> None:
    with pytest.raises(exceptions.LeadNotFound):
        services.create_task(actor=world.rep, lead_id=world.other_lead.pk, kind="call", title="x",
                             due_at=MONDAY_10 + timedelta(hours=1))  # fmt: skip
    task = services.create_task(actor=world.other_rep, lead_id=world.other_lead.pk, kind="call", title="x",
                                due_at=MONDAY_10 + timedelta(hours=1))  # fmt: skip
    with pytest.raises(exceptions.TaskNotFound):
        services.complete_task(actor=world.rep, task_id=task.pk)
    with pytest.raises(exceptions.TaskNotFound):
        services.complete_task(actor=world.outsider, task_id=task.pk)
    assert services.complete_task(actor=world.manager, task_id=task.pk).completed_by_id == world.manager.pk


def test_reassign_only_within_the_actors_teams(world: World) -> None:
    task = services.create_task(actor=world.rep, lead_id=world.lead.pk, kind="call", title="x",
                                due_at=MONDAY_10 + timedelta(hours=1))  # fmt: skip
    with pytest.raises(exceptions.InvalidTask) as caught:
        services.update_task(actor=world.rep, task_id=task.pk, assignee_id=world.outsider.pk)
    assert "assignee_id" in caught.value.fields
    Task.objects.filter(pk=task.pk).update(reminded_at=MONDAY_10)  # Rita was reminded
    task = services.update_task(actor=world.rep, task_id=task.pk, assignee_id=world.other_rep.pk)
    assert task.assignee_id == world.other_rep.pk
    assert (task.remind_at, Task.objects.get(pk=task.pk).reminded_at) == (MONDAY_10, None)  # Omar will be
    # The new assignee sees it (assigned to them) though the lead is not theirs.
    assert selectors.get_task_visible_to(world.other_rep, task.pk) is not None


def test_rescheduling_moves_the_reminder_and_clears_reminded(world: World) -> None:
    task = services.create_task(actor=world.rep, lead_id=world.lead.pk, kind="call", title="x",
                                due_at=MONDAY_10 + timedelta(hours=1), remind_minutes_before=15)  # fmt: skip
    Task.objects.filter(pk=task.pk).update(reminded_at=MONDAY_10)
    later = MONDAY_10 + timedelta(days=1)
    task = services.update_task(actor=world.rep, task_id=task.pk, due_at=later)
    assert task.remind_at == later - timedelta(minutes=15)  # keeps the offset
    assert Task.objects.get(pk=task.pk).reminded_at is None
    assert [j.scheduled_at for j in _jobs(task)] == [MONDAY_10 + timedelta(minutes=45), later - timedelta(minutes=15)]
    # A title change does not reschedule.
    services.update_task(actor=world.rep, task_id=task.pk, title="Call again")
    assert len(_jobs(task)) == 2


def test_snooze_options(world: World) -> None:
    task = services.create_task(actor=world.rep, lead_id=world.lead.pk, kind="call", title="x",
                                due_at=MONDAY_10 - timedelta(hours=1))  # fmt: skip
    task = services.snooze_task(actor=world.rep, task_id=task.pk, option="1h")
    assert task.due_at == MONDAY_10 + timedelta(hours=1) and task.remind_at == task.due_at
    task = services.snooze_task(actor=world.rep, task_id=task.pk, option="tomorrow")
    assert task.due_at.isoformat() == "2026-11-24T08:00:00+00:00"  # 9:00 in Madrid
    with pytest.raises(exceptions.InvalidTask):
        services.snooze_task(actor=world.rep, task_id=task.pk, option="never")


def test_complete_is_idempotent_and_reopen_restores_the_reminder(world: World) -> None:
    task = services.create_task(actor=world.rep, lead_id=world.lead.pk, kind="call", title="x",
                                due_at=MONDAY_10 + timedelta(hours=2))  # fmt: skip
    done = services.complete_task(actor=world.rep, task_id=task.pk)
    again = services.complete_task(actor=world.rep, task_id=task.pk)
    assert done.completed_at == again.completed_at == MONDAY_10
    assert DomainEvent.objects.filter(type="followups.TaskCompleted").count() == 1
    reopened = services.reopen_task(actor=world.rep, task_id=task.pk)
    assert reopened.completed_at is None and reopened.remind_at == task.due_at
    assert len(_jobs(task)) == 2


def test_delete(world: World) -> None:
    task = services.create_task(actor=world.rep, lead_id=world.lead.pk, kind="call", title="x",
                                due_at=MONDAY_10 + timedelta(hours=2))  # fmt: skip
    with pytest.raises(exceptions.TaskNotFound):
        services.delete_task(actor=world.outsider, task_id=task.pk)
    services.delete_task(actor=world.rep, task_id=task.pk)
    assert not Task.objects.exists()


def test_inbox_selectors_answer_in_one_query(world: World, django_assert_num_queries: Any) -> None:
    def add(lead: Any, actor: Any, hours: int) -> Task:
        return services.create_task(actor=actor, lead_id=lead.pk, kind="call", title=f"t{hours}",
                                    due_at=MONDAY_10 + timedelta(hours=hours))  # fmt: skip

    first = add(world.lead, world.rep, -2)
    add(world.lead, world.rep, 5)
    done = add(world.lead, world.rep, -5)
    services.complete_task(actor=world.rep, task_id=done.pk)
    other = add(world.other_lead, world.other_rep, 3)
    with django_assert_num_queries(1):
        found = selectors.next_open_task_by_lead([world.lead.pk, world.other_lead.pk, 999999])
    assert {k: v.pk for k, v in found.items()} == {world.lead.pk: first.pk, world.other_lead.pk: other.pk}
    with django_assert_num_queries(1):
        counts = selectors.count_open_and_overdue_by_assignee([world.rep.pk, world.other_rep.pk, world.manager.pk])
    assert counts == {world.rep.pk: (2, 1), world.other_rep.pk: (1, 0), world.manager.pk: (0, 0)}
    assert selectors.next_open_task_by_lead([]) == {}


def test_my_day_sections(world: World) -> None:
    for hours, title in ((-30, "overdue"), (5, "today"), (30, "tomorrow"), (24 * 9, "later")):
        services.create_task(actor=world.rep, lead_id=world.lead.pk, kind="call", title=title,
                             due_at=MONDAY_10 + timedelta(hours=hours))  # fmt: skip
    done = services.create_task(actor=world.rep, lead_id=world.lead.pk, kind="call", title="done",
                                due_at=MONDAY_10 + timedelta(hours=1))  # fmt: skip
    services.complete_task(actor=world.rep, task_id=done.pk)
    day = selectors.my_day([world.rep.pk], now=MONDAY_10, tz=selectors.time_zone_of(world.rep))
    assert [[t.title for t in s.tasks] for s in day.sections] == [["overdue"], ["today"], ["tomorrow"], ["done"]]
    assert day.open_count == 3
    assert selectors.time_zone_of(world.rep).key == "Europe/Madrid"
