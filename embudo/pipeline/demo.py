"""Demo deals: every owned demo lead gets a deal across the stages with an amount (idempotent).

Leads already closed by the predictive demo (outcome won/lost) sit in Won/Lost with their reason; the others are
spread over the open stages, more in the early ones, deterministically from the lead id.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from embudo.accounts.models import Team, User
from embudo.core import clock
from embudo.leads.models import Lead
from embudo.pipeline import services
from embudo.pipeline.models import Deal, Stage, StageKind

SEED = 20261122
OPEN_WEIGHTS = (("new", 40), ("contacted", 28), ("interested", 18), ("proposal_sent", 14))


def seed_demo(*, teams: dict[str, Team], users: dict[str, User]) -> None:
    del teams, users
    services.ensure_default_stages()
    now = clock.now()
    stages = {s.key: s for s in Stage.objects.filter(team__isnull=True)}
    team_stages: dict[tuple[int, str], Stage] = {
        (s.team_id, s.key): s for s in Stage.objects.filter(team__isnull=False) if s.team_id is not None
    }
    have = set(Deal.objects.values_list("lead_id", flat=True))
    leads = (
        Lead.objects.filter(owner__isnull=False)
        .exclude(pk__in=have)
        .only("id", "owner_id", "team_id", "outcome", "outcome_reason", "closed_at", "created_at", "grade")
        .order_by("id")
    )
    deals: list[Deal] = []
    keys = [key for key, _ in OPEN_WEIGHTS]
    weights = [weight for _, weight in OPEN_WEIGHTS]
    for lead in leads.iterator(chunk_size=2000):
        rng = random.Random(SEED * 1_000_003 + lead.pk)  # noqa: S311 - demo data
        key = lead.outcome if lead.outcome in ("won", "lost") else rng.choices(keys, weights)[0]
        stage = team_stages.get((lead.team_id, key), stages.get(key)) if lead.team_id else stages.get(key)
        if stage is None:
            continue
        base = {"hot": 18000, "warm": 9000}.get(lead.grade, 4000)
        amount = Decimal(round(base * rng.uniform(0.3, 2.5), -2))
        entered = min(now, lead.created_at + timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23)))
        closed = lead.closed_at or entered if stage.kind != StageKind.OPEN else None
        deals.append(
            Deal(lead_id=lead.pk, stage=stage, amount=amount, currency="EUR", owner_id=lead.owner_id,
                 team_id=lead.team_id, lost_reason=lead.outcome_reason if key == "lost" else "",
                 stage_entered_at=closed or entered, created_at=lead.created_at, updated_at=closed or entered,
                 closed_at=closed)
        )  # fmt: skip
    with transaction.atomic():
        Deal.objects.bulk_create(deals, batch_size=1000, ignore_conflicts=True)
    if deals:
        services.rebuild_totals()
