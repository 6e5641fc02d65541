"""Snooze, disqualify, saved views and reassign: validation and permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from embudo.core.exceptions import DomainError
from embudo.inbox import services
from embudo.inbox.exceptions import InboxNotAllowed, InvalidReassign, InvalidSavedView, InvalidSnooze
from embudo.inbox.models import SavedView, Snooze
from embudo.inbox.tests.conftest import NOW, World, make_lead
from embudo.leads.exceptions import LeadNotFound
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


@time_machine.travel(NOW, tick=False)
def test_snooze_replaces_and_unsnooze_removes(world: World) -> None:
    lead = make_lead(world.rep, world.team)
    services.snooze(actor=world.rep, lead_id=lead.pk, until=NOW + timedelta(hours=1))
    services.snooze(actor=world.rep, lead_id=lead.pk, until=NOW + timedelta(days=2))
    assert Snooze.objects.get().until == NOW + timedelta(days=2)
    assert services.unsnooze(actor=world.rep, lead_id=lead.pk) is True
    assert services.unsnooze(actor=world.rep, lead_id=lead.pk) is False


@time_machine.travel(NOW, tick=False)
def test_snooze_needs_a_future_time(world: World) -> None:
    lead = make_lead(world.rep, world.team)
    with pytest.raises(InvalidSnooze) as err:
        services.snooze(actor=world.rep, lead_id=lead.pk, until=NOW - timedelta(minutes=1))
    assert "until" in err.value.fields
    assert not Snooze.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_rep_never_acts_on_someone_elses_lead(world: World) -> None:
    theirs = make_lead(world.other_rep, world.team)
    unassigned = make_lead(None, world.team)
    for lead in (theirs, unassigned):
        with pytest.raises(LeadNotFound):
            services.snooze(actor=world.rep, lead_id=lead.pk, until=NOW + timedelta(hours=1))
        with pytest.raises(LeadNotFound):
            services.disqualify(actor=world.rep, lead_id=lead.pk, reason="spam")
    assert Lead.objects.filter(lifecycle_stage="disqualified").count() == 0


@time_machine.travel(NOW, tick=False)
def test_disqualify_with_a_reason(world: World) -> None:
    lead = make_lead(world.rep, world.team, lifecycle_stage="mql")
    with pytest.raises(DomainError):
        services.disqualify(actor=world.rep, lead_id=lead.pk, reason="because")
    with pytest.raises(DomainError):
        services.disqualify(actor=world.rep, lead_id=lead.pk, reason="other")  # "other" needs a note
    services.disqualify(actor=world.rep, lead_id=lead.pk, reason="no_budget", note="Frozen until Q3")
    lead.refresh_from_db()
    assert lead.lifecycle_stage == "disqualified"
    assert lead.lifecycle_reason.startswith("no_budget")


@time_machine.travel(NOW, tick=False)
def test_saved_views(world: World) -> None:
    hot = services.save_view(actor=world.rep, name="  Hot   ones ", query="?grade=hot&bogus=1&sla=nope")
    assert (hot.name, hot.query, hot.position) == ("Hot ones", "grade=hot", 1)
    again = services.save_view(actor=world.rep, name="Hot ones", query="grade=hot&sla=due_soon")
    assert again.pk == hot.pk and again.query == "grade=hot&sla=due_soon"
    second = services.save_view(actor=world.rep, name="Webinar", query="source=webinar")
    assert second.position == 2
    with pytest.raises(InvalidSavedView):
        services.save_view(actor=world.rep, name="  ", query="")
    with pytest.raises(DomainError):
        services.delete_view(actor=world.other_rep, view_id=hot.pk)  # not theirs
    services.delete_view(actor=world.rep, view_id=hot.pk)
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Webinar"]


@time_machine.travel(NOW, tick=False)
def test_reassign_from_the_team_view(world: World) -> None:
    lead = make_lead(world.rep, world.team)
    with pytest.raises(InboxNotAllowed):
        services.reassign(actor=world.rep, lead_id=lead.pk, user_id=world.other_rep.pk, reason="x")
    from embudo.accounts.tests.factories import TeamFactory, UserFactory

    outsider = UserFactory(teams=[TeamFactory(name="Andes", slug="andes")])
    with pytest.raises(InvalidReassign):
        services.reassign(actor=world.manager, lead_id=lead.pk, user_id=outsider.pk, reason="x")
    services.reassign(actor=world.manager, lead_id=lead.pk, user_id=world.other_rep.pk, reason="On holiday")
    lead.refresh_from_db()
    assert lead.owner_id == world.other_rep.pk
