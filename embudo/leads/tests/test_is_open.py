"""``Lead.is_open``: what routing and the inbox count as open, and why stage moves stay HOT updates."""

from __future__ import annotations

import pytest
from django.db import connection

from embudo.inbox.selectors import OPEN_LEAD_SQL
from embudo.leads.models import CLOSED_STAGES, CLOSED_STATUSES, Lead, LifecycleStage
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring import lifecycle

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", ["new", "working", *CLOSED_STATUSES])
@pytest.mark.parametrize("stage", LifecycleStage.values)
def test_open_means_neither_a_closed_status_nor_a_closed_stage(status: str, stage: str) -> None:
    lead = LeadFactory.create(status=status, lifecycle_stage=stage)
    assert Lead.objects.get(pk=lead.pk).is_open == (status not in CLOSED_STATUSES and stage not in CLOSED_STAGES)


def _hot_updates_of_leads() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'leads_lead'")
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def test_an_automatic_stage_move_and_a_status_change_are_hot_updates() -> None:
    """No index names status or lifecycle_stage, so neither change adds index entries (a lead's page has room:
    fillfactor 80). Closing the lead changes is_open, which lead_owner_open_idx names: not HOT."""
    lead = LeadFactory.create(status="new", lifecycle_stage="lead")
    updates, hot = _hot_updates_of_leads()
    lifecycle.on_product_activity([lead.pk])
    Lead.objects.filter(pk=lead.pk).update(status="working")
    after_updates, after_hot = _hot_updates_of_leads()
    assert Lead.objects.get(pk=lead.pk).lifecycle_stage == "pql"
    assert (after_updates - updates, after_hot - hot) == (2, 2)
    Lead.objects.filter(pk=lead.pk).update(status="converted")
    closed_updates, closed_hot = _hot_updates_of_leads()
    assert (closed_updates - after_updates, closed_hot - after_hot) == (1, 0)
    assert not Lead.objects.get(pk=lead.pk).is_open


@pytest.mark.parametrize("open_sql", ["l.is_open", OPEN_LEAD_SQL])
def test_open_lead_counts_can_use_the_owner_index_alone(open_sql: str) -> None:
    """Routing's capacity count (``l.is_open``) and the inbox's (``OPEN_LEAD_SQL``) imply the index predicate."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN SELECT count(*) FROM leads_lead l WHERE l.owner_id = 1 AND {open_sql}")  # noqa: S608
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "lead_owner_open_idx" in plan
