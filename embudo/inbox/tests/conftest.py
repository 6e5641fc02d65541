from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from embudo.accounts.models import Role, Team, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.sla.models import SlaClock, SlaPolicy

# A Monday, 10:00 in Madrid.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class World:
    team: Team
    manager: User
    rep: User
    other_rep: User
    policy: SlaPolicy


def make_lead(owner: User | None, team: Team | None, **kw: Any) -> Lead:
    kw.setdefault("updated_at", NOW - timedelta(days=1))
    kw.setdefault("created_at", NOW - timedelta(days=2))
    return LeadFactory(owner=owner, team=team, **kw)


def make_clock(world: World, lead: Lead, due_at: datetime, *, status: str = "open", **kw: Any) -> SlaClock:
    values: dict[str, Any] = {
        "lead": lead, "policy": world.policy, "owner_id": lead.owner_id, "team_id": lead.team_id,
        "trigger": "assigned", "status": status, "started_at": due_at - timedelta(minutes=10), "due_at": due_at,
    }  # fmt: skip
    if status == "breached":
        values["breached_at"] = due_at
        values["closed_at"] = due_at
    values.update(kw)
    return SlaClock.objects.create(**values)


@pytest.fixture
def world(db: Any) -> World:
    team = TeamFactory(name="Iberia", slug="iberia", time_zone="Europe/Madrid")
    manager = UserFactory(email="manager@example.com", full_name="Marta Manager", role=Role.MANAGER, teams=[team])
    rep = UserFactory(email="rep@example.com", full_name="Rita Rep", teams=[team])
    other = UserFactory(email="other@example.com", full_name="Omar Other", teams=[team])
    policy = SlaPolicy.objects.create(
        name="First touch in 10 minutes", trigger="assigned", target_minutes=10, business_hours=False,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    return World(team, manager, rep, other, policy)
