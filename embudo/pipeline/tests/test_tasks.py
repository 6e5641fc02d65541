"""The jobs through their real entry points: events published by routing and interactions."""

from __future__ import annotations

import pytest

from embudo.core import events as core_events
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead
from embudo.pipeline import tasks
from embudo.pipeline.models import Deal
from embudo.pipeline.tests.conftest import World, stage
from embudo.routing.events import LeadAssigned


def _assigned(lead: Lead, owner_id: int | None) -> int:
    event = core_events.publish(LeadAssigned(lead_id=lead.pk, assignment_id=1, owner_id=owner_id, team_id=lead.team_id))
    return event.pk


def test_on_lead_assigned_puts_the_lead_on_the_owners_board_once(world: World) -> None:
    lead = world.lead(owner=world.rep)
    event_id = _assigned(lead, world.rep.pk)
    tasks.on_lead_assigned(event_id)
    tasks.on_lead_assigned(event_id)  # a retry adds nothing
    deal = Deal.objects.get(lead=lead)
    assert (deal.stage.key, deal.owner_id, deal.team_id) == ("new", world.rep.pk, world.team.pk)
    assert DomainEvent.objects.filter(lead_id=lead.pk, type="pipeline.DealStageChanged").count() == 1


def test_on_lead_assigned_moves_the_deal_with_the_new_owner(world: World) -> None:
    lead = world.lead(owner=world.rep)
    tasks.on_lead_assigned(_assigned(lead, world.rep.pk))
    Lead.objects.filter(pk=lead.pk).update(owner=world.other_rep, team=world.other_team)
    tasks.on_lead_assigned(_assigned(lead, world.other_rep.pk))
    deal = Deal.objects.get(lead=lead)
    assert (deal.owner_id, deal.team_id) == (world.other_rep.pk, world.other_team.pk)


def test_on_lead_assigned_leaves_team_queue_leads_off_the_board(world: World) -> None:
    lead = world.lead(owner=None)
    tasks.on_lead_assigned(_assigned(lead, None))
    assert not Deal.objects.exists()


@pytest.mark.parametrize("start", ["new", "interested"])
def test_on_interaction_logged_moves_new_deals_to_contacted(world: World, start: str) -> None:
    lead = world.lead(owner=world.rep)
    tasks.on_lead_assigned(_assigned(lead, world.rep.pk))
    if start != "new":
        Deal.objects.filter(lead=lead).update(stage=stage(start))
    event = DomainEvent.objects.create(
        type="interactions.InteractionLogged", lead_id=lead.pk, actor_id=world.rep.pk,
        occurred_at=lead.created_at, payload={"kind": "call", "outcome": "connected"},
    )  # fmt: skip
    tasks.on_interaction_logged(event.pk)
    tasks.on_interaction_logged(event.pk)
    expected = "contacted" if start == "new" else start
    assert Deal.objects.get(lead=lead).stage.key == expected


def test_the_event_map_wires_the_jobs() -> None:
    from config.event_map import EVENT_SUBSCRIBERS

    assert "pipeline.on_lead_assigned" in EVENT_SUBSCRIBERS["routing.LeadAssigned"]
    assert "pipeline.on_interaction_logged" in EVENT_SUBSCRIBERS["interactions.InteractionLogged"]
