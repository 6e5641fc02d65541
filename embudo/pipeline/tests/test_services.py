from __future__ import annotations

from decimal import Decimal

import pytest

from embudo.core.exceptions import InvalidInput, NotFound, PermissionDenied
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead
from embudo.pipeline import exceptions, selectors, services
from embudo.pipeline.models import Deal, Stage
from embudo.pipeline.tests.conftest import World, stage


def _events(lead: Lead, type_: str) -> list[DomainEvent]:
    return list(DomainEvent.objects.filter(lead_id=lead.pk, type=type_).order_by("id"))


def test_default_stages_come_from_the_data_migration(db: None) -> None:
    keys = [s.key for s in selectors.list_stages(None)]
    assert keys == ["new", "contacted", "interested", "proposal_sent", "won", "lost"]
    assert [s.kind for s in selectors.list_stages(None)][-2:] == ["won", "lost"]


def test_ensure_deal_is_idempotent_and_starts_in_new(world: World) -> None:
    lead = world.lead(owner=world.rep)
    deal = services.ensure_deal(lead_id=lead.pk)
    again = services.ensure_deal(lead_id=lead.pk, actor=world.rep)
    assert deal.pk == again.pk and deal.stage.key == "new"
    assert (deal.owner_id, deal.team_id) == (world.rep.pk, world.team.pk)
    assert Deal.objects.count() == 1
    assert len(_events(lead, "pipeline.DealStageChanged")) == 1


def test_move_publishes_the_stage_change_and_is_an_sla_touch(world: World) -> None:
    lead = world.lead(owner=world.rep)
    deal = services.move_deal(actor=world.rep, lead_id=lead.pk, stage_id=stage("interested").pk, amount="12500")
    assert deal.stage.key == "interested" and deal.amount == Decimal("12500.00")
    event = _events(lead, "pipeline.DealStageChanged")[-1]
    assert event.actor_id == world.rep.pk
    assert event.payload["old_stage_key"] == "new" and event.payload["stage_key"] == "interested"
    assert event.payload["amount"] == "12500.00"
    # record_touch marks the first touch for speed-to-lead (routing) and closes SLA clocks.
    lead.refresh_from_db()
    assert lead.outcome == ""


def test_moving_to_lost_requires_a_reason(world: World) -> None:
    lead = world.lead(owner=world.rep)
    with pytest.raises(InvalidInput) as caught:
        services.move_deal(actor=world.rep, lead_id=lead.pk, stage_id=stage("lost").pk, lost_reason=" ")
    assert "lost_reason" in caught.value.fields
    assert not Deal.objects.filter(lead=lead).exists()  # nothing stored on error


def test_won_closes_the_lead_as_customer_with_history(world: World) -> None:
    lead = world.lead(owner=world.rep, lifecycle_stage="sql")
    services.convert_to_opportunity(actor=world.rep, lead_id=lead.pk, amount="5000")
    lead.refresh_from_db()
    assert lead.lifecycle_stage == "opportunity"
    deal = services.mark_won(actor=world.rep, lead_id=lead.pk)
    lead.refresh_from_db()
    assert deal.stage.kind == "won" and deal.closed_at is not None and deal.amount == Decimal("5000.00")
    assert (lead.outcome, lead.status, lead.lifecycle_stage) == ("won", "converted", "customer")
    assert lead.closed_at == deal.closed_at
    stages = [e.payload["stage"] for e in _events(lead, "scoring.LifecycleChanged")]
    assert stages == ["opportunity", "customer"]
    updated = _events(lead, "leads.LeadUpdated")[-1]
    assert updated.payload["changes"]["outcome"] == ["", "won"]


def test_lost_records_the_reason_for_predictive_scoring(world: World) -> None:
    lead = world.lead(owner=world.rep)
    deal = services.mark_lost(actor=world.rep, lead_id=lead.pk, reason="  Chose a   competitor ")
    lead.refresh_from_db()
    assert deal.lost_reason == "Chose a competitor"
    assert (lead.outcome, lead.outcome_reason) == ("lost", "Chose a competitor")
    assert lead.closed_at is not None
    with pytest.raises(InvalidInput):
        services.mark_lost(actor=world.rep, lead_id=lead.pk, reason="again")
    payload = _events(lead, "pipeline.DealStageChanged")[-1].payload
    assert payload["lost_reason"] == "Chose a competitor" and payload["stage_kind"] == "lost"


def test_lost_without_reason_is_refused(world: World) -> None:
    lead = world.lead(owner=world.rep)
    with pytest.raises(InvalidInput) as caught:
        services.mark_lost(actor=world.rep, lead_id=lead.pk, reason="")
    assert caught.value.fields == {"lost_reason": ["Say why the deal was lost."]}


def test_reopening_clears_the_outcome(world: World) -> None:
    lead = world.lead(owner=world.rep)
    services.mark_won(actor=world.rep, lead_id=lead.pk, amount="100")
    services.move_deal(actor=world.rep, lead_id=lead.pk, stage_id=stage("proposal_sent").pk)
    lead.refresh_from_db()
    deal = Deal.objects.get(lead=lead)
    assert (lead.outcome, lead.closed_at, lead.lifecycle_stage, lead.status) == ("", None, "opportunity", "working")
    assert deal.closed_at is None and deal.lost_reason == ""
    services.mark_lost(actor=world.rep, lead_id=lead.pk, reason="No budget")
    services.move_deal(actor=world.rep, lead_id=lead.pk, stage_id=stage("contacted").pk)
    lead.refresh_from_db()
    assert (lead.outcome, lead.outcome_reason, lead.closed_at) == ("", "", None)


def test_won_to_lost_is_no_customer_any_more(world: World) -> None:
    lead = world.lead(owner=world.rep)
    services.mark_won(actor=world.rep, lead_id=lead.pk)
    services.move_deal(actor=world.rep, lead_id=lead.pk, stage_id=stage("lost").pk, lost_reason="Cancelled")
    lead.refresh_from_db()
    assert (lead.outcome, lead.lifecycle_stage) == ("lost", "opportunity")


def test_permissions(world: World) -> None:
    mine = world.lead(owner=world.rep)
    theirs = world.lead(owner=world.other_rep, team=world.other_team)
    unowned = world.lead(owner=None)
    with pytest.raises(NotFound):
        services.move_deal(actor=world.rep, lead_id=theirs.pk, stage_id=stage("contacted").pk)
    with pytest.raises(PermissionDenied):  # visible (team queue) but not theirs to work
        services.move_deal(actor=world.rep, lead_id=unowned.pk, stage_id=stage("contacted").pk)
    with pytest.raises(PermissionDenied):
        services.mark_won(actor=world.marketing, lead_id=mine.pk)
    with pytest.raises(NotFound):  # not in the manager's team
        services.mark_won(actor=world.manager, lead_id=theirs.pk)
    assert services.move_deal(actor=world.manager, lead_id=mine.pk, stage_id=stage("contacted").pk).stage.key == (
        "contacted"
    )
    assert services.mark_won(actor=world.admin, lead_id=theirs.pk).stage.key == "won"


def test_a_stage_of_another_pipeline_is_refused(world: World) -> None:
    services.copy_default_stages(actor=world.admin, team_id=world.other_team.pk)
    lead = world.lead(owner=world.rep)
    foreign = stage("interested", world.other_team)
    with pytest.raises(InvalidInput) as caught:
        services.move_deal(actor=world.rep, lead_id=lead.pk, stage_id=foreign.pk)
    assert "stage_id" in caught.value.fields


def test_amount_changes_are_validated_and_recorded(world: World) -> None:
    lead = world.lead(owner=world.rep)
    with pytest.raises(InvalidInput):
        services.set_amount(actor=world.rep, lead_id=lead.pk, amount="-3")
    deal = services.set_amount(actor=world.rep, lead_id=lead.pk, amount="1.250,50", currency="USD")
    assert (deal.amount, deal.currency) == (Decimal("1250.50"), "USD")
    assert _events(lead, "pipeline.DealAmountChanged")[-1].payload["amount"] == "1250.50"


def test_follow_owner_creates_or_follows(world: World) -> None:
    lead = world.lead(owner=None)
    assert services.follow_owner(lead_id=lead.pk) is None
    Lead.objects.filter(pk=lead.pk).update(owner=world.rep)
    deal = services.follow_owner(lead_id=lead.pk)
    assert deal is not None and deal.owner_id == world.rep.pk
    services.copy_default_stages(actor=world.admin, team_id=world.other_team.pk)
    services.move_deal(actor=world.rep, lead_id=lead.pk, stage_id=stage("interested").pk)
    Lead.objects.filter(pk=lead.pk).update(owner=world.other_rep, team=world.other_team)
    deal = services.follow_owner(lead_id=lead.pk)
    assert deal is not None
    assert (deal.owner_id, deal.team_id) == (world.other_rep.pk, world.other_team.pk)
    assert deal.stage_id == stage("interested", world.other_team).pk  # same key in the new team's pipeline
    assert Deal.objects.count() == 1


def test_mark_contacted_only_moves_new_deals(world: World) -> None:
    lead = world.lead(owner=world.rep)
    assert services.mark_contacted(lead_id=lead.pk) is None  # no deal: nothing to do
    services.ensure_deal(lead_id=lead.pk)
    deal = services.mark_contacted(lead_id=lead.pk)
    assert deal is not None and deal.stage.key == "contacted"
    event = DomainEvent.objects.filter(lead_id=lead.pk, type="pipeline.DealStageChanged").latest("id")
    assert event.actor_id is None and event.payload["automatic"] is True
    assert services.mark_contacted(lead_id=lead.pk) is None


def test_stage_configuration(world: World) -> None:
    lead = world.lead(owner=world.rep)
    services.move_deal(actor=world.rep, lead_id=lead.pk, stage_id=stage("interested").pk)
    with pytest.raises(PermissionDenied):
        services.copy_default_stages(actor=world.rep, team_id=world.team.pk)
    with pytest.raises(PermissionDenied):  # managers cannot change the defaults
        services.update_stage(actor=world.manager, stage_id=stage("new").pk, name="Fresh")
    copies = services.copy_default_stages(actor=world.manager, team_id=world.team.pk)
    assert len(copies) == 6
    assert Deal.objects.get(lead=lead).stage_id == stage("interested", world.team).pk
    demo = services.add_stage(actor=world.manager, team_id=world.team.pk, name="Demo booked", probability=45)
    keys = [s.key for s in selectors.list_stages(world.team.pk)]
    assert keys == ["new", "contacted", "interested", "proposal_sent", "demo_booked", "won", "lost"]
    services.move_stage(actor=world.manager, stage_id=demo.pk, direction="up")
    assert [s.key for s in selectors.list_stages(world.team.pk)][3] == "demo_booked"
    services.update_stage(actor=world.manager, stage_id=demo.pk, name="Demo done", probability=50)
    assert Stage.objects.get(pk=demo.pk).name == "Demo done"
    with pytest.raises(InvalidInput):
        services.update_stage(actor=world.manager, stage_id=demo.pk, probability=120)
    interested = stage("interested", world.team)
    with pytest.raises(exceptions.StageInUse):
        services.delete_stage(actor=world.manager, stage_id=interested.pk)
    services.update_stage(actor=world.manager, stage_id=interested.pk, active=False)
    assert "interested" not in [s.key for s in selectors.list_stages(world.team.pk)]
    with pytest.raises(InvalidInput):  # the only won stage
        services.update_stage(actor=world.manager, stage_id=stage("won", world.team).pk, active=False)
    services.delete_stage(actor=world.manager, stage_id=demo.pk)
    assert not Stage.objects.filter(pk=demo.pk).exists()


def test_stage_labels_translate_default_names_only(world: World) -> None:
    from django.utils import translation

    new = stage("new")
    with translation.override("es"):
        assert selectors.stage_label(new) != "" and isinstance(selectors.stage_label(new), str)
    new.name = "Fresh"
    assert selectors.stage_label(new) == "Fresh"


def _totals() -> dict[tuple[int, int | None, int | None], tuple[int, Decimal]]:
    from embudo.pipeline.models import StageTotal

    return {(t.stage_id, t.owner_id, t.team_id): (t.deals, t.amount) for t in StageTotal.objects.all() if t.deals}


def test_column_totals_follow_every_write(world: World) -> None:
    a, b, c = world.lead(owner=world.rep), world.lead(owner=world.rep), world.lead(owner=world.rep)
    services.move_deal(actor=world.rep, lead_id=a.pk, stage_id=stage("interested").pk, amount="100")
    services.set_amount(actor=world.rep, lead_id=b.pk, amount="40")
    services.mark_won(actor=world.rep, lead_id=b.pk, amount="55")
    services.mark_lost(actor=world.rep, lead_id=c.pk, reason="No")
    services.move_deal(actor=world.rep, lead_id=c.pk, stage_id=stage("new").pk)
    Lead.objects.filter(pk=a.pk).update(owner=world.other_rep, team=world.other_team)
    services.follow_owner(lead_id=a.pk)
    services.copy_default_stages(actor=world.admin, team_id=world.team.pk)
    kept = _totals()
    services.rebuild_totals()
    assert kept == _totals()
    assert kept[(stage("won", world.team).pk, world.rep.pk, world.team.pk)] == (1, Decimal("55.00"))
