from __future__ import annotations

from dataclasses import dataclass

import pytest

from embudo.accounts.models import Role, Team, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.pipeline.models import Stage


@dataclass
class World:
    team: Team
    other_team: Team
    admin: User
    manager: User
    rep: User
    other_rep: User
    marketing: User

    def lead(self, owner: User | None = None, team: Team | None = None, **fields: object) -> Lead:
        return LeadFactory.create(owner=owner, team=team or self.team, **fields)


@pytest.fixture
def world(db: None) -> World:
    team = TeamFactory.create(name="Iberia", slug="iberia")
    other_team = TeamFactory.create(name="Americas", slug="americas")
    return World(
        team=team,
        other_team=other_team,
        admin=UserFactory.create(role=Role.ADMIN, full_name="Ada Admin"),
        manager=UserFactory.create(role=Role.MANAGER, full_name="Marta Manager", teams=[team]),
        rep=UserFactory.create(full_name="Lucia Rep", teams=[team]),
        other_rep=UserFactory.create(full_name="Diego Rep", teams=[other_team]),
        marketing=UserFactory.create(role=Role.MARKETING, full_name="Mar Marketing"),
    )


def stage(key: str, team: Team | None = None) -> Stage:
    return Stage.objects.get(team=team, key=key)
