"""A routing setup like the demo's: Iberia, Americas and Senior pools under one published rule set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from embudo.accounts.models import Role, Team, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.routing import services
from embudo.routing.models import Pool, RuleSet


@dataclass
class Setup:
    admin: User
    iberia: Team
    americas: Team
    manager: User
    iberia_reps: list[User]
    americas_reps: list[User]
    senior: User
    pools: dict[str, Pool]
    rule_set: RuleSet
    notified: list[dict[str, Any]] = field(default_factory=list)
    clocks: list[dict[str, Any]] = field(default_factory=list)


def build_setup() -> Setup:
    iberia = TeamFactory.create(name="Iberia", slug="iberia", time_zone="Europe/Madrid")
    americas = TeamFactory.create(name="Americas", slug="americas", time_zone="America/Mexico_City")
    admin = UserFactory.create(role=Role.ADMIN, full_name="Ada Admin")
    manager = UserFactory.create(role=Role.MANAGER, full_name="Marta Manager", teams=[iberia])
    iberia_reps = [UserFactory.create(full_name=f"Ibe {i}", teams=[iberia]) for i in range(3)]
    americas_reps = [UserFactory.create(full_name=f"Ame {i}", teams=[americas]) for i in range(2)]
    senior = UserFactory.create(full_name="Sol Senior", teams=[iberia])
    iberia_pool = services.create_pool(
        actor=admin,
        data={
            "name": "Iberia",
            "team_id": iberia.pk,
            "strategy": "round_robin",
            "fallback": "manager",
            "fallback_user_id": manager.pk,
            "members": [{"user_id": u.pk} for u in iberia_reps],
        },
    )
    americas_pool = services.create_pool(
        actor=admin,
        data={"name": "Americas", "team_id": americas.pk, "members": [{"user_id": u.pk} for u in americas_reps]},
    )
    senior_pool = services.create_pool(
        actor=admin, data={"name": "Senior", "team_id": iberia.pk, "members": [{"user_id": senior.pk}]}
    )
    draft = services.create_rule_set(actor=admin, name="Territories")
    services.update_draft(
        actor=admin,
        rule_set_id=draft.pk,
        data={
            "default_action": "queue",
            "rules": [
                {
                    "name": "Big or hot",
                    "action": "assign_pool",
                    "pool_id": senior_pool.pk,
                    "conditions": [{"field": "company.size", "op": "equals", "value": "1000+"}],
                },
                {
                    "name": "Iberia",
                    "action": "assign_pool",
                    "pool_id": iberia_pool.pk,
                    "conditions": [{"field": "country", "op": "in", "value": ["ES", "PT"]}],
                },
                {
                    "name": "Latin America",
                    "action": "assign_pool",
                    "pool_id": americas_pool.pk,
                    "conditions": [{"field": "country", "op": "in", "value": ["MX", "AR", "CO", "CL", "PE"]}],
                },
            ],
        },
    )
    rule_set = services.publish_rule_set(actor=admin, rule_set_id=draft.pk)
    return Setup(
        admin=admin,
        iberia=iberia,
        americas=americas,
        manager=manager,
        iberia_reps=iberia_reps,
        americas_reps=americas_reps,
        senior=senior,
        pools={"iberia": iberia_pool, "americas": americas_pool, "senior": senior_pool},
        rule_set=rule_set,
    )


@pytest.fixture
def setup(db: None, monkeypatch: pytest.MonkeyPatch) -> Setup:
    s = build_setup()
    # Record what routing asks of notifications and SLA (their contexts are built elsewhere).
    from embudo.notifications import services as notifications_services
    from embudo.sla import services as sla_services

    def notify(**kw: Any) -> int:
        s.notified.append(kw)
        return len(s.notified)

    monkeypatch.setattr(notifications_services, "notify", notify)
    monkeypatch.setattr(
        sla_services, "start_clocks", lambda **kw: s.clocks.append({k: v for k, v in kw.items() if k != "lead"})
    )
    return s
