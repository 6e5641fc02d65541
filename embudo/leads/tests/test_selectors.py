"""Lead reads: scoping, counting, timelines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core.models import DomainEvent
from embudo.leads import selectors
from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_manager_sees_own_leads_outside_their_teams() -> None:
    team = TeamFactory.create()
    manager = UserFactory.create(role=Role.MANAGER, teams=[team])
    own_elsewhere = LeadFactory.create(owner=manager, team=None)
    in_team = LeadFactory.create(team=team)
    LeadFactory.create(team=TeamFactory.create())

    assert set(selectors.leads_visible_to(manager)) == {own_elsewhere, in_team}


def test_rep_without_teams_sees_only_own_leads() -> None:
    rep = UserFactory.create(role=Role.SALES_REP)
    own = LeadFactory.create(owner=rep)
    LeadFactory.create(owner=None, team=None)
    assert list(selectors.leads_visible_to(rep)) == [own]


def test_count_is_capped() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    LeadFactory.create_batch(6, status="working")
    LeadFactory.create(status="new")
    filters = selectors.LeadFilters(status="working")

    assert selectors.count_leads_visible_to(admin, filters=filters) == (6, False)
    assert selectors.count_leads_visible_to(admin, filters=filters, cap=5) == (5, True)
    assert selectors.count_leads_visible_to(admin, filters=filters, cap=6) == (6, False)


def test_unknown_sort_falls_back_to_newest_first() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    now = timezone.now()
    old = LeadFactory.create(created_at=now - timedelta(days=1))
    new = LeadFactory.create(created_at=now)
    page = selectors.list_leads_visible_to(admin, filters=selectors.LeadFilters(sort="bogus"))
    assert page.items == [new, old]


def test_blank_search_matches_everything() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    LeadFactory.create_batch(2)
    page = selectors.list_leads_visible_to(admin, filters=selectors.LeadFilters(search="   "))
    assert len(page.items) == 2


def test_timeline_filters_types_and_limits(django_assert_num_queries: Any) -> None:
    lead = LeadFactory.create()
    now = timezone.now()
    for i, kind in enumerate(["leads.LeadCreated", "leads.NoteAdded", "leads.LeadUpdated", "leads.NoteAdded"]):
        DomainEvent.objects.create(type=kind, occurred_at=now + timedelta(seconds=i), lead_id=lead.pk)
    DomainEvent.objects.create(type="leads.NoteAdded", occurred_at=now, lead_id=lead.pk + 1)

    with django_assert_num_queries(1):
        notes = selectors.list_timeline(lead.pk, types=["leads.NoteAdded"])
    assert [e.occurred_at for e in notes] == [now + timedelta(seconds=3), now + timedelta(seconds=1)]
    assert len(selectors.list_timeline(lead.pk, limit=2)) == 2


def test_actor_names() -> None:
    user = UserFactory.create(full_name="Lucía Pérez")
    events = [
        DomainEvent(type="x", occurred_at=timezone.now(), actor_id=user.pk),
        DomainEvent(type="x", occurred_at=timezone.now(), actor_id=None),
    ]
    assert selectors.actor_names(events) == {user.pk: "Lucía Pérez"}
    assert selectors.actor_names([]) == {}


def test_find_lead_by_keys_prefers_email_then_the_newest_lead_with_the_phone(
    django_assert_num_queries: Any,
) -> None:
    by_email = LeadFactory.create(email="Ana@Example.com", phone="+34600000001")
    older = LeadFactory.create(email="", phone="+34600000002", created_at=timezone.now() - timedelta(days=1))
    newer = LeadFactory.create(email="", phone="+34600000002")

    with django_assert_num_queries(1):
        assert selectors.find_lead_by_keys(email="ana@example.com", phone="+34600000002") == by_email
    assert selectors.find_lead_by_keys(email="nobody@example.com", phone="+34600000002") == newer
    assert selectors.find_lead_by_keys(phone="+34600000001") == by_email
    assert selectors.find_lead_by_keys(email="nobody@example.com", phone="+34600000009") is None
    assert selectors.find_lead_by_keys(email="", phone="") is None
    assert older.pk != newer.pk


def test_find_lead_by_keys_looks_up_only_the_keys_it_has() -> None:
    """An empty key sends no branch: "phone = '' AND phone <> ''" once walked the whole table (see the selector)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lead = LeadFactory.create(email="solo@example.com", phone="")
    phone_only = LeadFactory.create(email="", phone="+34600000003")
    with CaptureQueriesContext(connection) as email_query:
        assert selectors.find_lead_by_keys(email="SOLO@example.com", phone="") == lead
    with CaptureQueriesContext(connection) as phone_query:
        assert selectors.find_lead_by_keys(email="", phone="+34600000003") == phone_only
    assert "phone" not in email_query.captured_queries[0]["sql"].split("WHERE", 1)[1]
    assert "email" not in phone_query.captured_queries[0]["sql"].split("WHERE", 1)[1]
