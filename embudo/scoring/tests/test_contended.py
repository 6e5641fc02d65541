"""A batch of behaviour events does not wait for a lead another transaction holds: that lead's scoring goes to a
job in the batch's transaction, which scores it from its whole history afterwards."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring.tests.engine_helpers import WEBINAR, assert_invariant, publish_model
from embudo.tracking import services as tracking
from embudo.tracking import tasks as tracking_tasks


@pytest.mark.django_db(transaction=True)
def test_a_lead_held_by_another_transaction_is_scored_by_a_job_not_waited_for() -> None:
    busy, free = LeadFactory.create(lifecycle_stage="lead"), LeadFactory.create(lifecycle_stage="lead")
    publish_model([WEBINAR])
    held, release = threading.Event(), threading.Event()

    def other_transaction() -> None:  # e.g. another API worker scoring its own batch for the same lead
        try:
            with transaction.atomic():
                Lead.objects.select_for_update().get(pk=busy.pk)
                held.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    thread = threading.Thread(target=other_transaction)
    thread.start()
    assert held.wait(timeout=30)
    try:
        # Had it waited for the lock, it would return only after the 60 s timeout, with nothing deferred.
        result = tracking.ingest_events(
            [{"type": "webinar_attended", "lead_id": busy.pk}, {"type": "webinar_attended", "lead_id": free.pk},
             {"type": "product_signed_up", "lead_id": busy.pk}, {"type": "product_signed_up", "lead_id": free.pk}],
            scope="test", source="api",
        )  # fmt: skip
        assert not release.is_set()
    finally:
        release.set()
        thread.join()
    assert result.stored == 4 and result.lead_ids == sorted([busy.pk, free.pk])
    assert result.deferred_lead_ids == [busy.pk]
    assert Lead.objects.values_list("pk", "score", "lifecycle_stage").get(pk=free.pk) == (free.pk, 25, "pql")
    assert Lead.objects.values_list("score", "lifecycle_stage").get(pk=busy.pk) == (0, "lead")  # not yet
    job = ProcrastinateJob.objects.get(task_name="tracking.score_contended_leads")
    assert job.args == {"lead_ids": [busy.pk], "product_lead_ids": [busy.pk]}

    tracking_tasks.score_contended_leads(**job.args)  # what the worker runs next
    assert Lead.objects.values_list("score", "lifecycle_stage").get(pk=busy.pk) == (25, "pql")
    assert_invariant()
