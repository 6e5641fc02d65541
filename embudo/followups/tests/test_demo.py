"""The demo seed: the default rule and a few tasks per rep, once."""

from __future__ import annotations

import pytest

from embudo.followups import demo
from embudo.followups.models import Task, TaskRule
from embudo.followups.tests.conftest import World
from embudo.leads.tests.factories import LeadFactory


@pytest.mark.django_db
def test_seed_demo_is_idempotent(world: World) -> None:
    for _ in range(4):
        LeadFactory(owner=world.rep, team=world.team)
    users = {u.email: u for u in (world.manager, world.rep, world.other_rep)}
    demo.seed_demo(teams={"Iberia": world.team}, users=users)
    demo.seed_demo(teams={"Iberia": world.team}, users=users)
    rule = TaskRule.objects.get()
    assert (rule.stage_key, rule.delay_days, rule.team_id) == ("proposal_sent", 3, None)
    assert Task.objects.filter(assignee=world.rep).count() == 5
    assert Task.objects.filter(assignee=world.other_rep).count() == 1  # one lead only
    assert not Task.objects.filter(assignee=world.manager).exists()
