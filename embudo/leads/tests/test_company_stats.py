"""A company's lead_count and last_lead_at: every write to leads_lead queues its companies (triggers), and
the drain sets them to a recount, whatever wrote the leads (ORM, bulk, raw SQL, deletes, truncate)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embudo.leads import services, tasks
from embudo.leads.models import Company, CompanyStatsPending, Lead
from embudo.leads.tests.factories import CompanyFactory, LeadFactory

pytestmark = pytest.mark.django_db


def kept() -> dict[int, tuple[int, Any]]:
    return {pk: (n, last) for pk, n, last in Company.objects.values_list("pk", "lead_count", "last_lead_at")}


def recount() -> dict[int, tuple[int, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, count(l.id), max(l.created_at) FROM leads_company c"
            " LEFT JOIN leads_lead l ON l.company_id = c.id GROUP BY c.id"
        )
        return {pk: (n, last) for pk, n, last in cursor.fetchall()}


def pending() -> list[int]:
    return sorted(CompanyStatsPending.objects.values_list("company_id", flat=True))


def test_creates_moves_and_deletes_are_counted_at_the_next_drain() -> None:
    acme, globex = CompanyFactory(), CompanyFactory()
    leads = [LeadFactory(company=acme) for _ in range(3)]
    LeadFactory()  # no company: queues nothing
    assert pending() == [acme.pk] * 3
    assert kept()[acme.pk] == (0, None)  # not yet: the counts follow at the drain
    assert services.drain_company_stats() == 3
    assert kept() == recount() and kept()[acme.pk] == (3, max(lead.created_at for lead in leads))
    assert pending() == []

    Lead.objects.filter(pk=leads[0].pk).update(company=globex)  # moved: both companies
    Lead.objects.filter(pk=leads[1].pk).update(first_name="Same company")  # queues nothing
    assert pending() == [acme.pk, globex.pk]
    leads[2].delete()
    services.drain_company_stats()
    assert kept() == recount() and kept()[acme.pk] == (1, leads[1].created_at)

    Lead.objects.filter(company=acme).delete()  # a company left without leads goes back to zero
    services.drain_company_stats()
    assert kept()[acme.pk] == (0, None) and kept() == recount()


def test_bulk_raw_sql_and_truncate_are_counted() -> None:
    acme, globex = CompanyFactory(), CompanyFactory()
    now = timezone.now()
    Lead.objects.bulk_create(
        [Lead(email=f"bulk{i}@example.org", company=acme if i % 3 else globex, created_at=now, updated_at=now)
         for i in range(7)]
    )  # fmt: skip
    assert pending() == [acme.pk, globex.pk]  # one row per company per statement, not per lead
    with connection.cursor() as cursor:
        columns = ", ".join(
            f.column for f in Lead._meta.concrete_fields if not f.primary_key and not f.generated and f.name != "email"
        )
        cursor.execute(
            f"INSERT INTO leads_lead ({columns}, email) SELECT {columns}, 'copy.' || email FROM leads_lead"  # noqa: S608
        )
        cursor.execute("UPDATE leads_lead SET company_id = %s WHERE company_id = %s", [acme.pk, globex.pk])
    services.drain_company_stats()
    assert kept() == recount() and kept()[acme.pk][0] == 14 and kept()[globex.pk] == (0, None)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending deferred checks
        cursor.execute("TRUNCATE leads_lead CASCADE")
    assert pending() == [acme.pk]  # the companies that still showed a count
    services.drain_company_stats()
    assert kept() == recount() == {acme.pk: (0, None), globex.pk: (0, None)}


def test_a_drain_recounts_each_company_once_in_batches_and_repairs_a_wrong_count() -> None:
    companies = CompanyFactory.create_batch(3)
    for i in range(7):
        LeadFactory(company=companies[i % 3])
    Company.objects.filter(pk=companies[0].pk).update(lead_count=10_001)  # drifted, e.g. by an older version
    assert services.drain_company_stats(batch_size=2) == 7  # four transactions: 2 + 2 + 2 + 1
    assert pending() == [] and kept() == recount()
    assert services.drain_company_stats() == 0


def test_a_drain_leaves_the_rows_to_the_drain_already_running() -> None:
    """Two drains never overlap: an older snapshot's recount could overwrite a newer one."""
    company = CompanyFactory()
    LeadFactory(company=company)
    params = connection.get_connection_params()
    conninfo = {k: params[k] for k in ("dbname", "user", "host", "port", "password") if params.get(k)}
    with psycopg.connect(**conninfo, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtext('leads.company_stats'))")
        assert services.drain_company_stats() == 0
        assert pending() == [company.pk] and kept()[company.pk] == (0, None)
    assert services.drain_company_stats() == 1 and kept()[company.pk][0] == 1


def test_jobs_queued_by_earlier_versions_drain_too() -> None:
    company = CompanyFactory()
    LeadFactory(company=company)
    tasks.refresh_company_stats(event_id=12345)  # the per-lead job of earlier versions, still in a queue
    assert kept()[company.pk][0] == 1
    LeadFactory(company=company)
    tasks.drain_company_stats(timestamp=0)  # the periodic job
    assert kept()[company.pk][0] == 2 and pending() == []


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["create", "move", "unfile", "delete", "bulk_move", "edit", "drain"]),
        st.integers(min_value=0, max_value=9),  # which lead (modulo the leads there are)
        st.integers(min_value=0, max_value=2),  # which company
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_any_sequence_of_writes_then_a_drain_leaves_the_recount(operations: list[tuple[str, int, int]]) -> None:
    with transaction.atomic():
        companies = CompanyFactory.create_batch(3)
        serial = 0
        for action, which, company_index in operations:
            ids = list(Lead.objects.order_by("id").values_list("id", flat=True))
            company = companies[company_index]
            if action == "drain":
                services.drain_company_stats()
            elif action == "create" or not ids:
                serial += 1
                LeadFactory(company=company if which % 4 else None, email=f"p{serial}@example.org")
            else:
                target = Lead.objects.filter(pk=ids[which % len(ids)])
                if action == "move":
                    target.update(company=company)
                elif action == "unfile":
                    target.update(company=None)
                elif action == "delete":
                    target.delete()
                elif action == "bulk_move":
                    Lead.objects.filter(pk__in=ids[::2]).update(company=company)
                else:
                    target.update(city="Sevilla")
        services.drain_company_stats()
        assert kept() == recount(), operations
        assert pending() == []
        transaction.set_rollback(True)
