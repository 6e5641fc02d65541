"""Demo SLA configuration: the three policies from the brief and a few holidays (idempotent).

Decision: every demo policy counts the owner's business hours. A hot lead that arrives at 03:00 is
due ten minutes after its owner starts work, not at 03:10 when nobody can call (and nobody would be
eligible for a reassignment either); set ``business_hours`` off for a 24/7 team.
"""

from __future__ import annotations

from datetime import date

from embudo.accounts.models import Team, User
from embudo.core import clock
from embudo.sla.models import Holiday, SlaPolicy, Trigger

POLICIES = [
    {"name": "Hot lead: first touch within 10 minutes", "trigger": Trigger.HOT, "target_minutes": 10,
     "remind_before_minutes": 5, "business_hours": True, "escalate": True, "reassign": True, "conditions": []},
    {"name": "New lead: contact within 10 minutes of assignment", "trigger": Trigger.ASSIGNED, "target_minutes": 10,
     "remind_before_minutes": 5, "business_hours": True, "escalate": True, "reassign": True,
     "conditions": [{"field": "status", "op": "equals", "value": "new"}]},
    # "Within 24 hours" in business hours: one working day (09:00–18:00 = 540 minutes), so an SQL made on
    # Tuesday at 11:00 is due Wednesday at 11:00. Escalate only: an SQL keeps its rep.
    {"name": "SQL: contact within 24 hours", "trigger": Trigger.SQL, "target_minutes": 540,
     "remind_before_minutes": 60, "business_hours": True, "escalate": True, "reassign": False, "conditions": []},
]  # fmt: skip
HOLIDAYS = [(1, 1, "New Year's Day"), (5, 1, "Labour Day"), (12, 25, "Christmas Day")]


def seed_demo(*, teams: dict[str, Team], users: dict[str, User]) -> None:
    del teams, users
    now = clock.now()
    for spec in POLICIES:
        SlaPolicy.objects.get_or_create(name=spec["name"], defaults={**spec, "created_at": now, "updated_at": now})
    for year in (now.year, now.year + 1):
        for month, day, name in HOLIDAYS:
            Holiday.objects.get_or_create(team=None, date=date(year, month, day), defaults={"name": name})
