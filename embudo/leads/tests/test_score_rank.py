"""LeadScoreRank, the lead list's score sort key: kept in step with leads_lead by every kind of writer,
and the reason it exists (a score update of a lead is HOT, it adds no entry to leads_lead's indexes)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from embudo.leads.models import Lead, LeadScoreRank
from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def ranks() -> dict[int, int]:
    return dict(LeadScoreRank.objects.values_list("lead_id", "score"))


def scores() -> dict[int, int]:
    return dict(Lead.objects.values_list("id", "score"))


def test_orm_inserts_updates_and_deletes_keep_the_rank_rows() -> None:
    one = LeadFactory(score=10)
    two = LeadFactory(score=-5)
    now = timezone.now()
    Lead.objects.bulk_create(
        [Lead(email=f"bulk{i}@example.org", score=i, created_at=now, updated_at=now) for i in range(3)]
    )
    assert ranks() == scores()
    assert len(ranks()) == 5

    one.score = 42
    one.save()
    Lead.objects.filter(pk=two.pk).update(score=7)
    Lead.objects.filter(email__startswith="bulk").update(first_name="Same score")  # no score change
    assert ranks() == scores()
    assert ranks()[one.pk] == 42

    two.delete()
    Lead.objects.filter(email="bulk0@example.org").delete()
    assert ranks() == scores()
    assert two.pk not in ranks()


def test_raw_sql_writers_keep_the_rank_rows() -> None:
    template = LeadFactory(score=0)
    columns = [
        f.column
        for f in Lead._meta.concrete_fields
        if f.column not in ("id", "email", "score") and not getattr(f, "generated", False)
    ]
    listed = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO leads_lead ({listed}, email, score) "  # noqa: S608 - column names from the model
            f"SELECT {listed}, 'raw' || g || '@example.org', g FROM leads_lead, generate_series(1, 4) g WHERE id = %s",
            [template.pk],
        )
        cursor.execute("UPDATE leads_lead SET score = score * 10 WHERE email LIKE 'raw%%'")
    assert sorted(ranks().values()) == [0, 10, 20, 30, 40]
    assert ranks() == scores()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM leads_lead WHERE email = 'raw1@example.org'")
    assert ranks() == scores()


def test_a_score_update_is_hot() -> None:
    """Nothing on leads_lead may index the score again: its updates would leave HOT and hit every index."""
    lead = LeadFactory(score=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'leads_lead'")
        updates_before, hot_before = cursor.fetchone()
        cursor.execute("UPDATE leads_lead SET score = 60, grade = 'warm' WHERE id = %s", [lead.pk])
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'leads_lead'")
        updates_after, hot_after = cursor.fetchone()
    assert (updates_after - updates_before, hot_after - hot_before) == (1, 1)
    assert ranks()[lead.pk] == 60


def test_the_score_sort_walks_the_rank_index() -> None:
    for i in range(30):
        LeadFactory(score=i)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead, leads_leadscorerank")
        # A 30-row table is sorted in memory whatever its indexes; forbid that to see whether an ordered path exists.
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(
            "EXPLAIN SELECT l.id FROM leads_lead l JOIN leads_leadscorerank r ON r.lead_id = l.id "
            "ORDER BY r.score DESC, l.id DESC LIMIT 5"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "lead_rank_score_idx" in plan
    assert "Sort" not in plan.split("lead_rank_score_idx")[0]
