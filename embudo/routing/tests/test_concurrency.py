"""Real threads routing at the same time: the pool's row lock serializes picks, so nobody is picked twice
out of turn and the round-robin stays exact."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection

from embudo.leads.tests.factories import LeadFactory
from embudo.routing import services
from embudo.routing.models import Assignment, PoolMember
from embudo.routing.tests.conftest import build_setup


def route_from_threads(leads: list[Any], *, threads: int) -> list[Exception]:
    """Route ``leads`` (trigger "test") from ``threads`` threads that start together; the errors they raised."""
    barrier = threading.Barrier(threads)
    errors: list[Exception] = []

    def worker(chunk: list[Any]) -> None:
        try:
            barrier.wait()
            for lead in chunk:
                services.route_lead(lead.pk, trigger="test")
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)
        finally:
            connection.close()

    started = [threading.Thread(target=worker, args=(leads[i::threads],)) for i in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_routing_never_picks_the_same_next_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    from embudo.notifications import services as notifications_services

    monkeypatch.setattr(notifications_services, "notify", lambda **kw: None)
    setup = build_setup()
    reps = setup.iberia_reps
    leads = [LeadFactory.create(country="ES") for _ in range(48)]
    assert route_from_threads(leads, threads=8) == []
    owners = Counter(Assignment.objects.filter(trigger="test").values_list("user_id", flat=True))
    assert owners == {r.pk: 16 for r in reps}
    # The picks, in commit order, cycle through the members: the same "next" never came out twice.
    order = list(Assignment.objects.filter(trigger="test").order_by("id").values_list("user_id", flat=True))
    assert all(order[i] != order[i + 1] for i in range(len(order) - 1))
    assert sorted(PoolMember.objects.filter(pool=setup.pools["iberia"]).values_list("assigned_count", flat=True)) == [
        16,
        16,
        16,
    ]
    # Twice the same lead at once: assigned once.
    lead = LeadFactory.create(country="ES")
    barrier2 = threading.Barrier(4)

    def twice() -> None:
        try:
            barrier2.wait()
            services.route_lead(lead.pk, trigger="race")
        finally:
            connection.close()

    racers = [threading.Thread(target=twice) for _ in range(4)]
    for t in racers:
        t.start()
    for t in racers:
        t.join()
    assert Assignment.objects.filter(lead_id=lead.pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_routing_never_exceeds_capacity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Capacity comes from the open-lead counts the leads' triggers keep (``leads_ownerload``): read under the
    pool's lock, they stay exact while eight threads fill the pool, and equal a recount afterwards."""
    from embudo.leads.models import OwnerLoad
    from embudo.notifications import services as notifications_services
    from embudo.routing.models import Pool

    monkeypatch.setattr(notifications_services, "notify", lambda **kw: None)
    setup = build_setup()
    reps = setup.iberia_reps
    pool = setup.pools["iberia"]
    PoolMember.objects.filter(pool=pool).update(capacity=5)
    Pool.objects.filter(pk=pool.pk).update(fallback="queue")
    LeadFactory.create(owner=reps[0], country="ES")  # one open lead already: room for 4 more
    leads = [LeadFactory.create(country="ES") for _ in range(24)]
    assert route_from_threads(leads, threads=8) == []
    owners = Counter(Assignment.objects.filter(trigger="test").values_list("user_id", flat=True))
    assert owners == {reps[0].pk: 4, reps[1].pk: 5, reps[2].pk: 5, None: 10}
    kept = dict(OwnerLoad.objects.filter(user__in=reps).values_list("user_id", "open_leads"))
    assert kept == {r.pk: 5 for r in reps}
    with connection.cursor() as cursor:
        cursor.execute("SELECT owner_id, count(*) FROM leads_lead WHERE is_open AND owner_id IS NOT NULL GROUP BY 1")
        assert dict(cursor.fetchall()) == kept
