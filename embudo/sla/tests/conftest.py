from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from embudo.accounts.models import Role, Team, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core import clock
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.sla.models import SlaPolicy, Trigger

# A Monday, 10:00 in Madrid (09:00 UTC): inside office hours.
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class World:
    team: Team
    manager: User
    rep: User
    other_rep: User
    lead: Lead


@pytest.fixture
def world(db: Any) -> World:
    team = TeamFactory(name="Iberia", slug="iberia", time_zone="Europe/Madrid")
    manager = UserFactory(email="manager@example.com", full_name="Marta Manager", role=Role.MANAGER, teams=[team])
    rep = UserFactory(email="rep@example.com", full_name="Rita Rep", teams=[team])
    other = UserFactory(email="other@example.com", full_name="Omar Other", teams=[team])
    lead = LeadFactory(first_name="Lola", last_name="Lead", owner=rep, team=team, grade="hot")
    return World(team, manager, rep, other, lead)


def make_policy(**overrides: Any) -> SlaPolicy:
    now = clock.now()
    values: dict[str, Any] = {
        "name": "Hot lead: first touch within 10 minutes", "trigger": Trigger.ASSIGNED, "target_minutes": 10,
        "remind_before_minutes": 5, "business_hours": False, "escalate": True, "reassign": False,
        "conditions": [], "created_at": now, "updated_at": now,
    }  # fmt: skip
    values.update(overrides)
    return SlaPolicy.objects.create(**values)
