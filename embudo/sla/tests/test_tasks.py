"""SLA jobs through a real procrastinate worker: the breach check runs at its time; sweepers never pile up."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.contrib.django import app as procrastinate_app
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.core import clock
from embudo.sla import services
from embudo.sla.models import ClockStatus, SlaClock
from embudo.sla.tests.conftest import World, make_policy


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_breaches_the_clock_when_due(world: World, empty_job_queue: None) -> None:
    make_policy(escalate=True)
    with time_machine.travel(clock.now() - timedelta(minutes=11), tick=False):
        services.start_clocks(lead_id=world.lead.pk, trigger="assigned")
    connection.close()

    with procrastinate_app.replace_connector(procrastinate_app.connector.get_worker_connector()) as worker_app:  # type: ignore[attr-defined]
        worker_app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)

    assert SlaClock.objects.get().status == ClockStatus.BREACHED
    jobs = ProcrastinateJob.objects.filter(task_name__in=["sla.check_breach", "sla.remind"])
    assert set(jobs.values_list("status", flat=True)) == {"succeeded"}


@pytest.mark.django_db(transaction=True)
def test_only_one_sweeper_is_queued(empty_job_queue: None) -> None:
    procrastinate_app.configure_task("sla.sweep").defer(timestamp=1)
    with pytest.raises(procrastinate_exceptions.AlreadyEnqueued):
        procrastinate_app.configure_task("sla.sweep").defer(timestamp=2)
    task = procrastinate_app.tasks["sla.sweep"]
    assert (task.queueing_lock, task.lock) == ("sla.sweep", "sla.sweep")
