"""The lead's grade on its deal: copied at creation and hand-over, kept in sync from scoring's GradeChanged
events by ``pipeline.sync_grades``; the grade-filtered board reads only the deals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from embudo.core.models import DomainEvent
from embudo.leads.models import Lead
from embudo.pipeline import services, tasks
from embudo.pipeline.models import Deal, GradeSync
from embudo.pipeline.tests.conftest import World, stage
from embudo.scoring import services as scoring_services


def _publish(country: str, points: int) -> None:
    draft = scoring_services.create_draft(actor=None)
    scoring_services.update_draft(
        draft.pk,
        actor=None,
        warm_min=10,
        hot_min=50,
        rules=[{"kind": "fit", "label": country, "points": points,
                "conditions": [{"field": "country", "op": "equals", "value": country}]}],
    )  # fmt: skip
    scoring_services.publish(draft.pk, actor=None, rescore="now")


def _grade_of_deal(lead: Lead) -> str:
    return Deal.objects.values_list("grade", flat=True).get(lead=lead)


def test_a_deal_takes_the_leads_grade_when_created(world: World) -> None:
    hot = world.lead(owner=world.rep, grade="hot")
    warm = world.lead(owner=world.rep, grade="warm")
    assert services.ensure_deal(lead_id=hot.pk).grade == "hot"
    services.move_deal(actor=world.admin, lead_id=warm.pk, stage_id=stage("contacted").pk)
    assert _grade_of_deal(warm) == "warm"


def test_sync_job_follows_scoring_and_is_idempotent(world: World) -> None:
    spain = world.lead(owner=world.rep, country="ES")
    france = world.lead(owner=world.rep, country="FR")
    for lead in (spain, france):
        services.ensure_deal(lead_id=lead.pk)
    assert (_grade_of_deal(spain), _grade_of_deal(france)) == ("cold", "cold")

    _publish("ES", 60)  # bulk rescoring: GradeChanged rows, no jobs deferred
    assert Lead.objects.get(pk=spain.pk).grade == "hot"
    assert _grade_of_deal(spain) == "cold"  # not yet: the job copies it
    tasks.sync_grades(0)
    assert (_grade_of_deal(spain), _grade_of_deal(france)) == ("hot", "cold")
    newest = DomainEvent.objects.filter(type="scoring.GradeChanged").order_by("-id").values_list("id", flat=True)[0]
    checkpoint = GradeSync.objects.get(name=services.GRADE_SYNC).last_event_id
    assert checkpoint >= newest

    assert services.sync_grades() == 0  # idempotent: nothing new, nothing written
    assert GradeSync.objects.get(name=services.GRADE_SYNC).last_event_id == checkpoint

    _publish("FR", 20)  # Spain drops to cold, France becomes warm
    assert services.sync_grades(window=1) == 2  # small windows: the loop catches up within one run
    assert (_grade_of_deal(spain), _grade_of_deal(france)) == ("cold", "warm")
    assert GradeSync.objects.get(name=services.GRADE_SYNC).last_event_id > checkpoint


def test_nightly_job_resyncs_stragglers(world: World) -> None:
    lead = world.lead(owner=world.rep)
    services.ensure_deal(lead_id=lead.pk)
    Lead.objects.filter(pk=lead.pk).update(grade="warm")  # a move the checkpoint never saw
    tasks.rebuild_totals(0)
    assert _grade_of_deal(lead) == "warm"


def test_grade_filtered_board_reads_only_the_deals(world: World, django_assert_max_num_queries: Any) -> None:
    for grade, n in (("hot", 2), ("warm", 1), ("cold", 3)):
        for _ in range(n):
            lead = world.lead(owner=world.rep, grade=grade)
            services.move_deal(actor=world.admin, lead_id=lead.pk, stage_id=stage("interested").pk, amount="100")
    rep = Client()
    rep.force_login(world.rep)
    manager = Client()
    manager.force_login(world.manager)
    for client in (rep, manager):
        for grade, n in (("hot", 2), ("warm", 1), ("cold", 3)):
            with django_assert_max_num_queries(12), CaptureQueriesContext(connection) as queries:
                response = client.get(f"/pipeline/?grade={grade}")
            board = response.context["board"]
            interested = next(c for c in board.columns if c.stage.key == "interested")
            assert (board.count, interested.total) == (n, Decimal(100 * n))
            assert {c.deal.lead.grade for c in interested.cards} == {grade} and len(interested.cards) == n
            counting = [q["sql"] for q in queries if "COUNT(" in q["sql"] and "pipeline_deal" in q["sql"]]
            assert counting and all("leads_lead" not in sql for sql in counting)
            carding = [q["sql"] for q in queries if "LIMIT 51" in q["sql"]]
            assert carding and all("leads_lead" not in sql for sql in carding)


def test_merge_hand_over_takes_the_survivors_grade(world: World) -> None:
    merged = world.lead(owner=world.rep, grade="cold")
    survivor = world.lead(owner=world.rep, grade="hot")
    services.ensure_deal(lead_id=merged.pk)
    handed = services.hand_over_deal_on_merge(merged_id=merged.pk, survivor_id=survivor.pk)
    assert handed is not None and handed["moved"]
    assert _grade_of_deal(survivor) == "hot"


def test_a_grade_event_committed_late_is_caught_by_the_recheck(world: World) -> None:
    lead = world.lead(owner=world.rep)
    services.ensure_deal(lead_id=lead.pk)
    gap = DomainEvent.objects.create(type="test.Placeholder", occurred_at=timezone.now(), payload={})
    DomainEvent.objects.create(type="test.Placeholder", occurred_at=timezone.now(), payload={})
    late_id = gap.pk
    gap.delete()  # its id is "still in flight"
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        services.sync_grades()
        state = GradeSync.objects.get(name=services.GRADE_SYNC)
        assert state.last_event_id > late_id
        # The id range read 10-20 minutes ago is read again; this one starts before the late event.
        GradeSync.objects.filter(pk=state.pk).update(recheck_from_id=late_id - 1)
        Lead.objects.filter(pk=lead.pk).update(grade="hot")
        DomainEvent.objects.create(id=late_id, type="scoring.GradeChanged", occurred_at=timezone.now(),
                                   lead_id=lead.pk, payload={})  # fmt: skip
        assert services.sync_grades() == 1
        assert _grade_of_deal(lead) == "hot"
        assert GradeSync.objects.get(pk=state.pk).recheck_from_id == late_id - 1  # not rotated yet
        traveller.shift(services.RECHECK_EVERY)
        services.sync_grades()
        traveller.shift(services.RECHECK_EVERY)
        services.sync_grades()
        assert GradeSync.objects.get(pk=state.pk).recheck_from_id == state.last_event_id  # two generations on
