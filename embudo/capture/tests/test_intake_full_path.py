"""The whole intake path with every context configured: a published scoring model, a routing rule set
with pools, SLA policies and notifications. One API call stores, scores, routes, starts the SLA clock
and notifies the rep, in one transaction and a bounded number of queries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.leads.models import Lead
from embudo.notifications.models import Notification
from embudo.routing.models import Assignment, SpeedToLead
from embudo.scoring.models import ScoreEntry
from embudo.sla.models import SlaClock

pytestmark = pytest.mark.django_db


def post(client: Client, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/leads", json.dumps(body), content_type="application/json")


def test_a_lead_from_the_api_is_scored_routed_timed_and_notified_in_one_call(
    configured: Any, django_assert_max_num_queries: Any
) -> None:
    setup, client = configured
    post(client, {"email": "warm@example.es", "country": "ES"})  # warm per-process caches
    body = {"email": "director@acme.es", "first_name": "Ana", "job_title": "Director de IT", "country": "ES"}
    # Everything the intake transaction does with every context on (the fuzzy duplicate lookup, scoring's
    # model and ledger, with the two SET LOCALs that keep its generic plan, routing's rules, pool lock and
    # assignment, the notification and its jobs, the SLA clocks); +1 when a per-process cache is cold.
    with django_assert_max_num_queries(35) as queries:
        response = post(client, body)
    assert response.status_code == 201, response.content
    # The pool pick holds the pool's row lock until COMMIT: the capture's own writes come before it.
    statements = [" ".join(q["sql"].split()) for q in queries.captured_queries]
    pick = next(i for i, sql in enumerate(statements) if sql.startswith("WITH pool_state AS (UPDATE routing_pool"))
    assert not any("capture.LeadCaptured" in sql or sql.startswith("UPDATE capture_submission")
                   for sql in statements[pick:])  # fmt: skip
    # Nor the owner's notification preferences (they come with the pool's snapshot) or the SLA policies (read
    # before the lock): the lock, from the pool's SELECT … FOR UPDATE to COMMIT, is held for fewer statements.
    lock = next(i for i, sql in enumerate(statements) if "FROM routing_pool p" in sql and sql.endswith("FOR UPDATE"))
    assert not any(sql.startswith("SELECT u.language") or "FROM sla_slapolicy" in sql for sql in statements[lock:])
    assert any("FROM sla_slapolicy" in sql for sql in statements[:lock])
    # The pick's pool write and the lead's new owner: one statement.
    assert "UPDATE leads_lead SET owner_id" in statements[pick]
    # Every job of the intake (the events' subscribers, the owner's email, the SLA clock's checks) in one
    # statement, before COMMIT (core.events.deferring_together).
    assert sum("procrastinate_defer_jobs" in sql for sql in statements) == 1
    data = response.json()
    lead = Lead.objects.get(pk=data["id"])
    assert lead.owner_id in {u.pk for u in setup.iberia_reps}
    assert data["score"] == lead.score
    # The owner shown in the answer came with the pool's snapshot: the user is not read again after COMMIT.
    owner = lead.owner
    assert owner is not None
    assert data["owner"] == {"id": owner.pk, "email": owner.email, "full_name": owner.full_name}
    assert not any(sql.startswith("SELECT id, email, full_name FROM accounts_user") for sql in statements)
    assert lead.score == sum(ScoreEntry.objects.filter(lead_id=lead.pk).values_list("points", flat=True))
    assignment = Assignment.objects.get(lead_id=lead.pk)
    assert assignment.user_id == lead.owner_id
    assert Notification.objects.filter(user=assignment.user, lead_id=lead.pk, kind="lead_assigned").exists()
    marks = SpeedToLead.objects.get(lead_id=lead.pk)
    times = [marks.received_at, marks.stored_at, marks.scored_at, marks.assigned_at, marks.notified_at]
    assert all(t is not None for t in times)
    assert times[:4] == sorted(t for t in times[:4] if t is not None)
    assert SlaClock.objects.filter(lead_id=lead.pk, status="open").exists()
    assert ProcrastinateJob.objects.filter(task_name="notifications.send_email").exists()
    assert ProcrastinateJob.objects.filter(task_name="sla.check_breach").exists()
    # The lead was scored in the intake transaction: no rescoring job for its LeadCreated (event_map.ONLY_WHEN).
    assert not ProcrastinateJob.objects.filter(task_name="scoring.rescore_lead").exists()
