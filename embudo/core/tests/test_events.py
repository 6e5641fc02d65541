"""publish() records the event and defers subscriber jobs atomically; a real worker runs them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from procrastinate.contrib.django import app as procrastinate_app
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.core import events as core_events
from embudo.core.models import DomainEvent
from embudo.leads import services as lead_services
from embudo.leads.models import Company
from embudo.leads.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def test_publish_records_event_and_defers_one_job_per_subscriber(django_user_model: type) -> None:
    lead = lead_services.create_lead(actor=None, data={"email": "ana@example.es", "first_name": "Ana"})

    event = DomainEvent.objects.get(lead_id=lead.pk, type="leads.LeadCreated")
    assert event.payload["fields"]["email"] == "ana@example.es"
    # A lead created by hand gets its score from a job (intake scores its own); it has no company to recount.
    jobs = ProcrastinateJob.objects.filter(args__event_id=event.pk)
    assert [(job.task_name, job.args) for job in jobs] == [("scoring.rescore_lead", {"event_id": event.pk})]


def test_rollback_discards_event_and_jobs() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        lead_services.create_lead(actor=None, data={"email": "rollback@example.es"})
        raise RuntimeError("boom")

    assert not DomainEvent.objects.exists()
    assert not ProcrastinateJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_subscriber_and_periodic_jobs(empty_job_queue: None) -> None:
    company = CompanyFactory.create(name="Acme", domain="acme.example")
    for email in ("a@acme.example", "b@acme.example"):
        lead_services.create_lead_from_intake(values={"email": email}, channel="api", source="api",
                                              company_id=company.pk)  # fmt: skip
    # A lead created by hand: its LeadCreated gets a subscriber job (scoring.rescore_lead).
    lead_services.create_lead(actor=None, data={"email": "c@example.es", "first_name": "Carmen"})
    # What the worker's periodic deferrer queues every few seconds.
    procrastinate_app.configure_task("leads.drain_company_stats").defer(timestamp=0)
    connection.close()

    with procrastinate_app.replace_connector(procrastinate_app.connector.get_worker_connector()) as worker_app:  # type: ignore[attr-defined]
        worker_app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)

    company = Company.objects.get(pk=company.pk)
    assert company.lead_count == 2
    assert company.last_lead_at is not None
    jobs = dict(ProcrastinateJob.objects.values_list("task_name", "status"))
    assert jobs == {"scoring.rescore_lead": "succeeded", "leads.drain_company_stats": "succeeded"}


def test_publish_many_records_the_events_in_order_and_defers_their_jobs() -> None:
    from embudo.core import events
    from embudo.leads.events import LeadCreated

    sent = [
        LeadCreated(lead_id=100 + i, fields={"email": f"n{i}@example.es", "note": "ñandú ✓"}, channel="manual")
        for i in range(5)
    ]
    ids = events.publish_many(sent)

    stored = list(DomainEvent.objects.filter(pk__in=ids).order_by("pk"))
    assert [e.pk for e in stored] == ids
    assert [(e.lead_id, e.type, e.payload["fields"]["email"]) for e in stored] == [
        (100 + i, "leads.LeadCreated", f"n{i}@example.es") for i in range(5)
    ]
    assert stored[0].payload["fields"]["note"] == "ñandú ✓"
    jobs = ProcrastinateJob.objects.filter(task_name="scoring.rescore_lead").order_by("id")
    assert [job.args for job in jobs] == [{"event_id": i} for i in ids]
    assert events.publish_many([]) == []


def test_a_subscriber_narrowed_by_only_when_gets_the_events_with_the_flag() -> None:
    from config import event_map
    from embudo.core import events

    assert ("scoring.GradeChanged", "routing.on_grade_changed") in event_map.ONLY_WHEN
    assert events.subscribers_of("scoring.GradeChanged") == ["routing.on_grade_changed"]
    assert events.subscribers_of("scoring.GradeChanged", payload={"became_hot": False, "grade": "warm"}) == []
    assert events.subscribers_of("scoring.GradeChanged", payload={"became_hot": True}) == ["routing.on_grade_changed"]
    # A (key, value) condition: only a lead created by hand needs the rescoring job (intake and imports score
    # the leads they create in their own transaction).
    assert events.subscribers_of("leads.LeadCreated", payload={"channel": "manual", "company_id": 7}) == [
        "scoring.rescore_lead"
    ]
    assert events.subscribers_of("leads.LeadCreated", payload={"channel": "api", "company_id": 7}) == []
    # Conditions as functions of the payload: LeadUpdated's subscribers react to the changes they care about.
    edit = {"changes": {"city": ["", "Madrid"]}}
    assert events.subscribers_of("leads.LeadUpdated", payload=edit) == ["scoring.rescore_lead"]
    assert events.subscribers_of("leads.LeadUpdated", payload={**edit, "scored": True}) == []
    everything = {"changes": {"company_id": [None, 7], "status": ["new", "working"]}}
    all_subscribers = event_map.EVENT_SUBSCRIBERS["leads.LeadUpdated"]
    assert events.subscribers_of("leads.LeadUpdated", payload=everything) == all_subscribers
    # Without a payload, every subscriber (the import's bulk reactions read the map this way).
    assert events.subscribers_of("leads.LeadUpdated") == event_map.EVENT_SUBSCRIBERS["leads.LeadUpdated"]
    # Subscribers without a condition get every event.
    assert events.subscribers_of("dedupe.LeadsMerged", payload={}) == event_map.EVENT_SUBSCRIBERS["dedupe.LeadsMerged"]


def test_type_and_time_index_leaves_out_behaviour_events() -> None:
    """``event_type_time_idx`` holds the timeline's other events only (core/0003); a query by type that
    repeats its predicate (the import's reactions) is served by it."""
    from embudo.core.events import publish_many
    from embudo.leads.events import LeadCreated

    publish_many([LeadCreated(lead_id=1, fields={})])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indexrelid = 'event_type_time_idx'::regclass"
        )
        assert "NOT ((type)::text ~~ 'activity.%'::text)" in cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM core_domainevent WHERE type = %s::text AND occurred_at = %s::timestamptz "
            "AND type NOT LIKE 'activity.%%' ORDER BY id",
            ["leads.LeadCreated", "2026-01-01T00:00:00Z"],
        )
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "event_type_time_idx" in plan


def _defer_statements(queries: Any) -> int:
    return sum("procrastinate_defer_jobs" in q["sql"] for q in queries.captured_queries)


def test_jobs_deferred_together_go_in_one_statement_at_the_end_of_the_block() -> None:
    with CaptureQueriesContext(connection) as queries, core_events.deferring_together():
        core_events.defer_jobs([core_events.JobToDefer("scoring.rescore_lead", {"event_id": 1})])
        with core_events.deferring_together():  # a nested block joins the outer one
            core_events.defer_jobs([core_events.JobToDefer("scoring.rescore_lead", {"event_id": 2})])
        core_events.defer_jobs([core_events.JobToDefer("scoring.rescore_lead", {"event_id": 3})])
        assert _defer_statements(queries) == 0 and not ProcrastinateJob.objects.exists()
    assert _defer_statements(queries) == 1
    assert sorted(j.args["event_id"] for j in ProcrastinateJob.objects.all()) == [1, 2, 3]
    core_events.defer_jobs([core_events.JobToDefer("scoring.rescore_lead", {"event_id": 4})])
    assert ProcrastinateJob.objects.count() == 4  # outside a block: at once


def test_a_block_that_raises_defers_nothing() -> None:
    with pytest.raises(RuntimeError), core_events.deferring_together():
        core_events.defer_jobs([core_events.JobToDefer("scoring.rescore_lead", {"event_id": 1})])
        raise RuntimeError("boom")
    assert not ProcrastinateJob.objects.exists()
    core_events.defer_jobs([core_events.JobToDefer("scoring.rescore_lead", {"event_id": 2})])
    assert ProcrastinateJob.objects.count() == 1  # the failed block left nothing pending behind
