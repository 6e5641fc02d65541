"""Merging leads that reps already work: one deal per person (board totals kept), tasks and logged calls
move to the survivor, and undo gives everything back exactly."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core import clock
from embudo.dedupe import services
from embudo.followups import services as followups_services
from embudo.followups.models import Task
from embudo.interactions import services as interactions_services
from embudo.interactions.models import Interaction
from embudo.leads.tests.factories import LeadFactory
from embudo.pipeline import services as pipeline_services
from embudo.pipeline.models import Deal, StageTotal

pytestmark = pytest.mark.django_db


def totals() -> dict[tuple[int, int | None], tuple[int, Decimal]]:
    return {(t.stage_id, t.owner_id): (t.deals, t.amount) for t in StageTotal.objects.all() if t.deals}


def deal_columns(deal: Deal) -> dict[str, object]:
    return {f.attname: getattr(deal, f.attname) for f in Deal._meta.concrete_fields}


@pytest.mark.parametrize("survivor_has_a_deal", [True, False])
def test_merge_keeps_one_deal_moves_the_work_and_undo_restores_it(survivor_has_a_deal: bool) -> None:
    team = TeamFactory.create()
    admin = UserFactory.create(role=Role.ADMIN)
    rep = UserFactory.create(role=Role.SALES_REP, teams=[team])
    other = UserFactory.create(role=Role.SALES_REP, teams=[team])
    survivor = LeadFactory.create(owner=rep, team=team, phone="")
    merged = LeadFactory.create(owner=other, team=team, phone="+34600123456")
    if survivor_has_a_deal:
        pipeline_services.ensure_deal(lead_id=survivor.pk, actor=rep)
    pipeline_services.convert_to_opportunity(actor=other, lead_id=merged.pk, amount="1200")
    merged_deal = deal_columns(Deal.objects.get(lead_id=merged.pk))
    task = followups_services.create_task(actor=other, lead_id=merged.pk, kind="call", title="Call back",
                                          due_at=clock.now() + timedelta(days=1))  # fmt: skip
    call = interactions_services.log_call(actor=other, lead_id=merged.pk, outcome="connected", duration_seconds=90)
    before = totals()

    merge = services.merge_leads(actor=admin, survivor_id=survivor.pk, merged_id=merged.pk)

    deals = list(Deal.objects.filter(lead_id__in=[survivor.pk, merged.pk]))
    assert [d.lead_id for d in deals] == [survivor.pk]  # one deal per person
    kept = deals[0]
    if not survivor_has_a_deal:  # the merged lead's opportunity follows the survivor and its owner
        assert (kept.pk, kept.amount, kept.owner_id) == (merged_deal["id"], Decimal("1200.00"), rep.pk)
    assert totals() == {
        (d.stage_id, d.owner_id): (1, d.amount) for d in Deal.objects.all()
    }  # column totals = the deals
    assert Task.objects.get(pk=task.pk).lead_id == survivor.pk
    assert Interaction.objects.get(pk=call.pk).lead_id == survivor.pk

    services.unmerge(actor=admin, merge_id=merge.pk)

    assert deal_columns(Deal.objects.get(lead_id=merged.pk)) == merged_deal
    assert Deal.objects.filter(lead_id=survivor.pk).exists() == survivor_has_a_deal
    assert totals() == before
    assert Task.objects.get(pk=task.pk).lead_id == merged.pk
    assert Interaction.objects.get(pk=call.pk).lead_id == merged.pk
