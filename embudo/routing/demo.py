"""Demo routing: territory pools with the demo reps and a published rule set (idempotent).

"Hot or 1000+ companies → senior reps; Spain/Portugal → Iberia pool; Latin America (and North America)
→ Americas pool"; reps work Mon–Fri 9–18 in their team's time zone.
"""

from __future__ import annotations

from typing import Any

from embudo.accounts.models import Team, User
from embudo.routing import services
from embudo.routing.domain.schedule import office_hours
from embudo.routing.models import Pool, RuleSet, RuleSetStatus

LATAM = ["MX", "AR", "CO", "CL", "PE", "EC", "UY", "PY", "BO", "VE", "GT", "CR", "PA", "DO", "SV", "HN", "NI"]
RULE_SET_NAME = "Territories"


def _user(users: dict[str, User], email: str) -> User | None:
    return users.get(email)


def _ensure_pool(actor: User, name: str, data: dict[str, Any]) -> Pool:
    existing = Pool.objects.filter(name=name).first()
    if existing is None:
        return services.create_pool(actor=actor, data={"name": name, **data})
    return services.update_pool(actor=actor, pool_id=existing.pk, data=data)


def seed_demo(*, teams: dict[str, Team], users: dict[str, User]) -> None:
    admin = _user(users, "admin@embudo.demo")
    manager = _user(users, "manager@embudo.demo")
    lucia = _user(users, "lucia@embudo.demo")
    diego = _user(users, "diego@embudo.demo")
    emma = _user(users, "emma@embudo.demo")
    if admin is None or manager is None or lucia is None or diego is None or emma is None:
        return
    iberia, americas = teams.get("Iberia"), teams.get("Americas")
    for rep, team in ((lucia, iberia), (diego, americas), (emma, americas)):
        services.set_schedule(
            actor=admin, user_id=rep.pk, time_zone=team.time_zone if team else "UTC", hours=office_hours()
        )
    fallback = {"fallback": "manager", "fallback_user_id": manager.pk}
    iberia_pool = _ensure_pool(
        admin,
        "Iberia",
        {
            "team_id": iberia.pk if iberia else None,
            "strategy": "round_robin",
            **fallback,
            "members": [{"user_id": lucia.pk, "capacity": 400, "languages": ["es", "en"], "skills": ["enterprise"]}],
        },
    )
    americas_pool = _ensure_pool(
        admin,
        "Americas",
        {
            "team_id": americas.pk if americas else None,
            "strategy": "weighted",
            **fallback,
            "members": [
                {"user_id": diego.pk, "weight": 2, "capacity": 400, "languages": ["es", "en"],
                 "skills": ["enterprise"]},
                {"user_id": emma.pk, "weight": 1, "capacity": 300, "languages": ["en"]},
            ],
        },
    )  # fmt: skip
    senior_pool = _ensure_pool(
        admin,
        "Senior reps",
        {
            "team_id": None,
            "strategy": "least_loaded",
            "required_skills": ["enterprise"],
            **fallback,
            "members": [
                {"user_id": lucia.pk, "skills": ["enterprise"], "languages": ["es", "en"]},
                {"user_id": diego.pk, "skills": ["enterprise"], "languages": ["es", "en"]},
            ],
        },
    )
    if RuleSet.objects.filter(team__isnull=True, status=RuleSetStatus.PUBLISHED).exists():
        return
    draft = services.create_rule_set(actor=admin, name=RULE_SET_NAME)
    services.update_draft(
        actor=admin,
        rule_set_id=draft.pk,
        data={
            "default_action": "queue",
            "rules": [
                {"name": "Hot leads → senior reps", "action": "assign_pool", "pool_id": senior_pool.pk,
                 "conditions": [{"field": "grade", "op": "equals", "value": "hot"}]},
                {"name": "1000+ companies → senior reps", "action": "assign_pool", "pool_id": senior_pool.pk,
                 "conditions": [{"field": "company.size", "op": "equals", "value": "1000+"}]},
                {"name": "Spain/Portugal → Iberia", "action": "assign_pool", "pool_id": iberia_pool.pk,
                 "conditions": [{"field": "country", "op": "in", "value": ["ES", "PT"]}]},
                {"name": "Latin America → Americas", "action": "assign_pool", "pool_id": americas_pool.pk,
                 "conditions": [{"field": "country", "op": "in", "value": LATAM}]},
                {"name": "North America → Americas", "action": "assign_pool", "pool_id": americas_pool.pk,
                 "conditions": [{"field": "country", "op": "in", "value": ["US", "CA"]}]},
            ],
        },
    )  # fmt: skip
    services.publish_rule_set(actor=admin, rule_set_id=draft.pk)
