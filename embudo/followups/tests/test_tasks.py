"""Reminder jobs (a real procrastinate worker, time-machine) and the task-rule job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.contrib.django import app as procrastinate_app
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.core import clock, events
from embudo.followups import services
from embudo.followups.models import Task, TaskRule
from embudo.followups.tests.conftest import MONDAY_10, World
from embudo.notifications.models import Notification
from embudo.pipeline.events import DealStageChanged


def _run_worker() -> None:
    connection.close()
    with procrastinate_app.replace_connector(procrastinate_app.connector.get_worker_connector()) as worker_app:  # type: ignore[attr-defined]
        worker_app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)


def _task(world: World, *, due: datetime, before: int = 0, at: datetime | None = None) -> Task:
    with time_machine.travel(at or clock.now(), tick=False):
        return services.create_task(actor=world.rep, lead_id=world.lead.pk, kind="call", title="Call back",
                                    due_at=due, remind_minutes_before=before)  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_reminds_the_assignee_in_app_and_by_email(
    world: World, empty_job_queue: None, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    now = clock.now()
    task = _task(world, due=now + timedelta(minutes=20), before=30, at=now - timedelta(hours=1))
    assert task.remind_at == now - timedelta(minutes=10)
    _run_worker()

    task.refresh_from_db()
    assert task.reminded_at is not None
    [note] = Notification.objects.filter(user=world.rep, kind="task_due")
    assert "Call back" in note.title and "Lola Lead" in note.title
    assert note.url == f"/leads/{world.lead.pk}/" and note.lead_id == world.lead.pk
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["rep@example.com"]
    jobs = ProcrastinateJob.objects.filter(task_name__in=["followups.remind", "notifications.send_email"])
    assert set(jobs.values_list("status", flat=True)) == {"succeeded"}


@pytest.mark.django_db(transaction=True)
def test_a_rescheduled_tasks_old_job_does_nothing(world: World, empty_job_queue: None) -> None:
    now = clock.now()
    task = _task(world, due=now - timedelta(minutes=5), at=now - timedelta(hours=1))
    services.update_task(actor=world.rep, task_id=task.pk, due_at=now + timedelta(days=1))
    _run_worker()  # runs the old job (due), not the new one (tomorrow)
    task.refresh_from_db()
    assert task.reminded_at is None and not Notification.objects.exists()
    statuses = dict(ProcrastinateJob.objects.filter(task_name="followups.remind").values_list("scheduled_at", "status"))
    assert sorted(statuses.values()) == ["succeeded", "todo"]


@pytest.mark.django_db(transaction=True)
def test_a_completed_task_is_never_reminded(world: World, empty_job_queue: None) -> None:
    now = clock.now()
    task = _task(world, due=now - timedelta(minutes=5), at=now - timedelta(hours=1))
    services.complete_task(actor=world.rep, task_id=task.pk)
    _run_worker()
    assert not Notification.objects.exists()
    assert services.sweep_reminders() == 0


@pytest.mark.django_db
def test_reminders_are_sent_once_and_the_sweeper_catches_lost_jobs(world: World) -> None:
    task = _task(world, due=MONDAY_10 + timedelta(hours=1), at=MONDAY_10)
    ProcrastinateJob.objects.filter(task_name="followups.remind").delete()  # the job got lost
    with time_machine.travel(MONDAY_10 + timedelta(minutes=30), tick=False):
        assert services.send_reminder(task.pk) is False  # too early
        assert services.sweep_reminders() == 0
    with time_machine.travel(MONDAY_10 + timedelta(hours=1, minutes=1), tick=False):
        assert services.sweep_reminders() == 1
        assert services.sweep_reminders() == 0
        assert services.send_reminder(task.pk) is False
    assert Notification.objects.filter(kind="task_due").count() == 1


@pytest.mark.django_db
def test_the_reminder_is_written_in_the_assignees_language(world: World) -> None:
    world.rep.language = "es"
    world.rep.save()
    task = _task(world, due=MONDAY_10 + timedelta(hours=1), at=MONDAY_10)
    with time_machine.travel(MONDAY_10 + timedelta(hours=2), tick=False):
        assert services.send_reminder(task.pk)
    note = Notification.objects.get()
    assert "Call back" in note.title
    assert "23/11/2026" in note.body or "10:00" in note.body  # the due time in Madrid's local time


@pytest.mark.django_db(transaction=True)
def test_only_one_sweeper_is_queued(empty_job_queue: None) -> None:
    procrastinate_app.configure_task("followups.sweep_reminders").defer(timestamp=1)
    with pytest.raises(procrastinate_exceptions.AlreadyEnqueued):
        procrastinate_app.configure_task("followups.sweep_reminders").defer(timestamp=2)


# -- task rules ------------------------------------------------------------------------------------------


def _rule(**overrides: Any) -> TaskRule:
    values: dict[str, Any] = {"stage_key": "proposal_sent", "kind": "call", "title": "Call about the proposal",
                              "delay_days": 3, "created_at": MONDAY_10, "updated_at": MONDAY_10}  # fmt: skip
    values.update(overrides)
    return TaskRule.objects.create(**values)


def _enter_stage(world: World, stage_key: str = "proposal_sent", team_id: int | None = None) -> int:
    event = DealStageChanged(lead_id=world.lead.pk, actor_id=world.manager.pk, deal_id=1, old_stage_key="interested",
                             stage_key=stage_key, stage_kind="open", stage_name="Proposal sent",
                             team_id=team_id if team_id is not None else world.team.pk)  # fmt: skip
    return events.publish(event).pk


@pytest.mark.django_db
def test_entering_a_stage_creates_the_rule_tasks_once(world: World) -> None:
    rule = _rule()
    _rule(title="Inactive", active=False)
    _rule(title="Other stage", stage_key="won")
    _rule(title="Other team", team=world.outsider.teams.get())
    same_team = _rule(title="Send a reminder email", kind="email", delay_days=0, delay_hours=4, team=world.team)
    with time_machine.travel(MONDAY_10, tick=False):
        event_id = _enter_stage(world)
        assert ProcrastinateJob.objects.filter(task_name="followups.on_deal_stage_changed",
                                               args__event_id=event_id).exists()  # fmt: skip
        created = services.on_deal_stage_changed(event_id)
        assert services.on_deal_stage_changed(event_id) == []  # a retry creates nothing
    assert sorted(t.title for t in created) == ["Call about the proposal", "Send a reminder email"]
    call = Task.objects.get(rule=rule)
    assert call.assignee_id == world.rep.pk and call.created_by_id is None and call.rule_event_id == event_id
    assert call.due_at == MONDAY_10 + timedelta(days=3) and call.remind_at == call.due_at
    assert Task.objects.get(rule=same_team).due_at == MONDAY_10 + timedelta(hours=4)
    # A second entry into the stage (another event) makes new tasks.
    with time_machine.travel(MONDAY_10 + timedelta(days=1), tick=False):
        assert len(services.on_deal_stage_changed(_enter_stage(world))) == 2
    assert Task.objects.count() == 4


@pytest.mark.django_db
def test_rule_delays_keep_the_local_time_across_dst(world: World) -> None:
    _rule(delay_days=3)
    friday = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)  # 16:00 in Madrid, CET
    with time_machine.travel(friday, tick=False):
        services.on_deal_stage_changed(_enter_stage(world))
    due = Task.objects.get().due_at
    assert due == datetime(2026, 3, 30, 14, 0, tzinfo=UTC)  # Monday 16:00 CEST


@pytest.mark.django_db
def test_the_rule_job_runs_through_procrastinate(world: World) -> None:
    from embudo.followups import tasks

    _rule()
    with time_machine.travel(MONDAY_10, tick=False):
        event_id = _enter_stage(world, team_id=0)
        tasks.on_deal_stage_changed(event_id=event_id)
        tasks.on_deal_stage_changed(event_id=event_id)
    assert Task.objects.count() == 1
