"""Synthetic closed leads with behaviour, whose outcome follows fit and activity (something to learn)."""

from __future__ import annotations

import math
import random
from datetime import timedelta

from django.utils import timezone

from embudo.core.models import DomainEvent
from embudo.leads.models import Company, Lead

TITLES = {"CEO": 1.6, "Director of IT": 1.0, "Analyst": 0.0, "Student": -2.0}
SIZES = {"1-10": -0.6, "51-200": 0.0, "1000+": 0.9}


def make_outcomes(n: int = 320, *, seed: int = 7, open_leads: int = 0) -> list[Lead]:
    """``n`` closed leads (won/lost by a noisy rule) plus ``open_leads`` open ones, with activity events."""
    rng = random.Random(seed)
    now = timezone.now()
    companies = {size: Company.objects.create(name=f"Co {size}", domain=f"{size}.example".replace("+", "p"), size=size,
                                              industry=rng.choice(["software", "retail"]))
                 for size in SIZES}  # fmt: skip
    leads, events = [], []
    for i in range(n + open_leads):
        title = rng.choice(list(TITLES))
        size = rng.choice(list(SIZES))
        visits = rng.randint(0, 6)
        demo = int(rng.random() < 0.3)
        x = -1.2 + TITLES[title] + SIZES[size] + 0.35 * visits + 1.2 * demo
        closed = i < n
        won = rng.random() < 1 / (1 + math.exp(-x))
        created = now - timedelta(days=60)
        lead = Lead(first_name=f"P{i}", email=f"p{i}-{seed}@corp.example", job_title=title, company=companies[size],
                    country=rng.choice(["ES", "MX"]), source=rng.choice(["web", "event"]),
                    email_domain_kind="business", created_at=created, updated_at=created,
                    outcome=("won" if won else "lost") if closed else "",
                    closed_at=now - timedelta(days=1) if closed else None)  # fmt: skip
        leads.append((lead, visits, demo))
    Lead.objects.bulk_create([lead for lead, _, _ in leads])
    for lead, visits, demo in leads:
        at = now - timedelta(days=10)
        events += [
            DomainEvent(type="activity.page_view", occurred_at=at, lead_id=lead.pk, payload={}) for _ in range(visits)
        ]
        if demo:
            events.append(DomainEvent(type="activity.demo_requested", occurred_at=at, lead_id=lead.pk, payload={}))
        # After the close: must not count (it would leak the outcome).
        if lead.outcome == "won":
            events.append(DomainEvent(type="activity.product_active", occurred_at=now, lead_id=lead.pk, payload={}))
    DomainEvent.objects.bulk_create(events)
    return [lead for lead, _, _ in leads]
