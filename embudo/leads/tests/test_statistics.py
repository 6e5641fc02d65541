"""Planner statistics of leads: the searched and filtered columns have them, the display-only ones do not
(migration 0016: one ANALYZE of a 1M-lead table took 8-10 CPU-seconds with them)."""

from __future__ import annotations

import pytest
from django.db import connection

from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_analyze_skips_the_display_only_columns_and_keeps_the_queried_ones() -> None:
    LeadFactory.create_batch(5, job_title="CTO", first_name="Ana", status="new")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("SELECT attname FROM pg_stats WHERE schemaname = 'public' AND tablename = 'leads_lead'")
        analyzed = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'leads_lead'::regclass AND attname = 'search_text'"
        )
        (search_target,) = cursor.fetchone()
    assert {"status", "owner_id", "team_id", "created_at", "email", "phone", "search_text", "score"} <= analyzed
    assert not analyzed & {"first_name", "last_name", "job_title", "company_name", "custom_fields", "bant_need"}
    assert search_target == 1000
