"""OwnerLoad, each user's open-lead count: kept exact by the triggers on leads_lead whatever writes the lead
(ORM, bulk, raw SQL, deletes, truncate), equal to a recount after any sequence of writes (property test)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embudo.accounts.models import User
from embudo.accounts.tests.factories import UserFactory
from embudo.leads import services
from embudo.leads.models import Lead, OwnerLoad
from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def loads() -> dict[int, int]:
    """The kept counts, zeros left out (a row may stay at 0 once its owner has no open lead)."""
    return {user_id: n for user_id, n in OwnerLoad.objects.values_list("user_id", "open_leads") if n}


def recount() -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT owner_id, count(*) FROM leads_lead WHERE owner_id IS NOT NULL AND is_open GROUP BY owner_id"
        )
        return dict(cursor.fetchall())


def test_inserts_count_open_owned_leads_only() -> None:
    ana, bea = UserFactory(), UserFactory()
    LeadFactory(owner=ana)
    LeadFactory(owner=ana, status="converted")  # closed: not counted
    LeadFactory(owner=bea, lifecycle_stage="customer")  # closed
    LeadFactory()  # nobody's
    now = timezone.now()
    Lead.objects.bulk_create(
        [Lead(email=f"bulk{i}@example.org", owner=bea if i % 3 else ana, created_at=now, updated_at=now)
         for i in range(7)]
    )  # fmt: skip
    assert loads() == recount() == {ana.pk: 1 + 3, bea.pk: 4}


def test_updates_move_the_count_with_the_owner_and_the_open_flag() -> None:
    ana, bea = UserFactory(), UserFactory()
    lead = LeadFactory(owner=ana)
    other = LeadFactory(owner=ana)
    Lead.objects.filter(pk=lead.pk).update(owner=bea)  # reassigned
    assert loads() == {ana.pk: 1, bea.pk: 1}
    Lead.objects.filter(pk=lead.pk).update(status="disqualified")  # closed
    assert loads() == {ana.pk: 1}
    Lead.objects.filter(pk=lead.pk).update(status="working", owner=ana)  # reopened and moved at once
    assert loads() == {ana.pk: 2}
    Lead.objects.filter(pk=other.pk).update(lifecycle_stage="customer")
    Lead.objects.filter(pk=other.pk).update(score=80, first_name="Same owner")  # no change to the count
    other.refresh_from_db()
    other.owner = None
    other.save()  # closed and unowned: nothing to take off twice
    Lead.objects.filter(pk=lead.pk).update(owner=None)
    assert loads() == recount() == {}


def test_deletes_raw_sql_and_truncate() -> None:
    ana, bea = UserFactory(), UserFactory()
    leads = [LeadFactory(owner=ana if i % 2 else bea) for i in range(6)]
    leads[0].delete()
    Lead.objects.filter(pk__in=[lead.pk for lead in leads[1:4]]).delete()  # one statement, two owners
    assert loads() == recount() == {ana.pk: 1, bea.pk: 1}
    with connection.cursor() as cursor:
        cursor.execute("UPDATE leads_lead SET owner_id = %s WHERE owner_id = %s", [ana.pk, bea.pk])
        columns = ", ".join(
            f.column for f in Lead._meta.concrete_fields if not f.primary_key and not f.generated and f.name != "email"
        )
        cursor.execute(
            f"INSERT INTO leads_lead ({columns}, email) SELECT {columns}, 'copy.' || email FROM leads_lead"  # noqa: S608
        )
    assert loads() == recount() == {ana.pk: 4}
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending deferred checks
        cursor.execute("TRUNCATE leads_lead CASCADE")
    assert loads() == recount() == {}


def test_rebuild_recounts_what_writers_without_triggers_left() -> None:
    ana = UserFactory()
    LeadFactory(owner=ana)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # as the benchmark seed does
        cursor.execute("UPDATE leads_lead SET owner_id = NULL")
        cursor.execute("SET LOCAL session_replication_role = origin")
    assert loads() == {ana.pk: 1} and recount() == {}  # stale: the trigger did not fire
    services.rebuild_owner_loads()
    assert loads() == recount() == {}


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["create", "reassign", "status", "stage", "unassign", "delete", "bulk_reassign"]),
        st.integers(min_value=0, max_value=9),  # which lead (modulo the leads there are)
        st.integers(min_value=0, max_value=2),  # which user
        st.sampled_from(["new", "working", "converted", "disqualified"]),
        st.sampled_from(["lead", "mql", "sql", "customer", "disqualified"]),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_any_sequence_of_writes_leaves_the_recount(operations: list[tuple[str, int, int, str, str]]) -> None:
    with transaction.atomic():
        users: list[User] = [UserFactory(), UserFactory(), UserFactory()]
        serial = 0
        for action, which, user_index, status, stage in operations:
            ids = list(Lead.objects.order_by("id").values_list("id", flat=True))
            user = users[user_index]
            if action == "create" or not ids:
                serial += 1
                LeadFactory(owner=user if which % 3 else None, status=status, lifecycle_stage=stage,
                            email=f"p{serial}@example.org")  # fmt: skip
                continue
            target = Lead.objects.filter(pk=ids[which % len(ids)])
            by_action: dict[str, dict[str, Any]] = {
                "reassign": {"owner": user},
                "status": {"status": status},
                "stage": {"lifecycle_stage": stage},
                "unassign": {"owner": None},
            }
            changes = by_action.get(action, {})
            if action == "delete":
                target.delete()
            elif action == "bulk_reassign":
                Lead.objects.filter(pk__in=ids[::2]).update(owner=user)
            else:
                target.update(**changes)
            assert loads() == recount(), (action, changes)
        transaction.set_rollback(True)
