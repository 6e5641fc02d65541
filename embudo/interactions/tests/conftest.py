from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from embudo.accounts.models import Role, Team, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory


@dataclass
class World:
    team: Team
    manager: User
    rep: User
    other_rep: User
    lead: Lead  # owned by ``rep``, with an email and an E.164 phone


@pytest.fixture
def world(db: Any) -> World:
    team = TeamFactory(name="Iberia", slug="iberia")
    manager = UserFactory(email="marta@example.com", full_name="Marta Manager", role=Role.MANAGER, teams=[team])
    rep = UserFactory(email="rita@example.com", full_name="Rita Rep", teams=[team])
    other = UserFactory(email="omar@example.com", full_name="Omar Other", teams=[team])
    lead = LeadFactory(first_name="Lola", last_name="Lead", email="lola@acme.example", phone="+34600111222",
                       owner=rep, team=team, grade="hot")  # fmt: skip
    return World(team, manager, rep, other, lead)
