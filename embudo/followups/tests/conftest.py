from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from embudo.accounts.models import Role, Team, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory

# A Monday, 10:00 in Madrid (09:00 UTC).
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class World:
    team: Team
    manager: User
    rep: User
    other_rep: User
    outsider: User
    lead: Lead
    other_lead: Lead


@pytest.fixture
def world(db: Any) -> World:
    team = TeamFactory(name="Iberia", slug="iberia", time_zone="Europe/Madrid")
    far = TeamFactory(name="Americas", slug="americas", time_zone="America/Mexico_City")
    manager = UserFactory(email="manager@example.com", full_name="Marta Manager", role=Role.MANAGER, teams=[team])
    rep = UserFactory(email="rep@example.com", full_name="Rita Rep", teams=[team])
    other = UserFactory(email="other@example.com", full_name="Omar Other", teams=[team])
    outsider = UserFactory(email="out@example.com", full_name="Oscar Outsider", teams=[far])
    lead = LeadFactory(first_name="Lola", last_name="Lead", owner=rep, team=team, grade="hot")
    other_lead = LeadFactory(first_name="Otto", last_name="Else", owner=other, team=team)
    return World(team, manager, rep, other, outsider, lead, other_lead)
