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


@pytest.mark.django_db(transaction=True)
def test_concurrent_routing_never_picks_the_same_next_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    from embudo.notifications import services as notifications_services

    monkeypatch.setattr(notifications_services, "notify", lambda **kw: None)
    setup = build_setup()
    reps = setup.iberia_reps
    leads = [LeadFactory.create(country="ES") for _ in range(48)]
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def worker(chunk: list[Any]) -> None:
        try:
            barrier.wait()
            for lead in chunk:
                services.route_lead(lead.pk, trigger="test")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(leads[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
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
