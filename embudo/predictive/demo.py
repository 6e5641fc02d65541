"""Demo data for predictive scoring: close a realistic share of the demo leads as won or lost (odds that
follow fit and behaviour, so there is something to learn), then train the model and score open leads.

Idempotent: leads are picked deterministically from their id, only leads without an outcome are
touched, and an existing active model is kept.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

from django.db import connection, transaction

from embudo.accounts.models import Team, User
from embudo.core import clock
from embudo.predictive import exceptions, selectors, services
from embudo.predictive.domain.features import seniority

SEED = 20261121
CLOSED_SHARE = 0.35  # of leads older than two weeks
LOST_REASONS = ("No budget", "Chose a competitor", "No decision", "Not a fit", "Went silent")


def _won_odds(*, title: str, size: str, mail_kind: str, bant: int, events: int, demo: int) -> float:
    """The demo's "truth": senior people at bigger companies with business email who engage, win more."""
    level = seniority(title)
    x = -1.6
    x += {"c_level": 1.3, "vp": 1.1, "director": 0.9, "manager": 0.4, "student": -1.5}.get(level, 0.0)
    x += {"1000+": 0.8, "501-1000": 0.7, "201-500": 0.5, "51-200": 0.2, "1-10": -0.4}.get(size, 0.0)
    x += {"free": -0.8, "disposable": -1.5}.get(mail_kind, 0.0)
    x += 0.35 * bant + 0.18 * min(events, 10) + 1.2 * min(demo, 1)
    return 1 / (1 + math.exp(-x))


def close_demo_leads() -> int:
    """Mark a deterministic share of open, older demo leads won or lost. Returns how many were closed."""
    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT l.id, l.job_title, COALESCE(c.size, ''), l.email_domain_kind,
                      (l.bant_budget <> '')::int + (l.bant_authority <> '')::int + (l.bant_need <> '')::int
                        + (l.bant_timing <> '')::int,
                      (SELECT count(*) FROM core_domainevent e WHERE e.lead_id = l.id AND e.type LIKE 'activity.%%'),
                      (SELECT count(*) FROM core_domainevent e WHERE e.lead_id = l.id
                         AND e.type IN ('activity.demo_requested', 'activity.webinar_attended'))
               FROM leads_lead l LEFT JOIN leads_company c ON c.id = l.company_id
               WHERE l.outcome = '' AND l.lifecycle_stage NOT IN ('customer', 'disqualified')
                 AND l.created_at < %s ORDER BY l.id""",
            [now - timedelta(days=14)],
        )
        rows = cursor.fetchall()
    ids, outcomes, reasons, closed = [], [], [], []
    for lead_id, title, size, kind, bant, events, demo in rows:
        rng = random.Random(SEED * 1_000_003 + lead_id)  # noqa: S311 - demo data
        if rng.random() >= CLOSED_SHARE:
            continue
        won = rng.random() < _won_odds(title=title, size=size, mail_kind=kind, bant=bant, events=events, demo=demo)
        ids.append(lead_id)
        outcomes.append("won" if won else "lost")
        reasons.append("" if won else rng.choice(LOST_REASONS))
        closed.append(now - timedelta(days=rng.randint(0, 10), hours=rng.randint(0, 23)))
    if not ids:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """UPDATE leads_lead l SET outcome = t.outcome, outcome_reason = t.reason, closed_at = t.closed_at,
                      updated_at = %s
               FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[]) AS t(id, outcome, reason, closed_at)
               WHERE l.id = t.id AND l.outcome = ''""",
            [now, ids, outcomes, reasons, closed],
        )
    return len(ids)


def seed_demo(*, teams: dict[str, Team], users: dict[str, User]) -> None:
    """Close demo leads, train the model (unless one is active) and score the open leads."""
    del teams
    close_demo_leads()
    if selectors.get_active_model() is not None:
        return
    trainer = next((u for u in users.values() if services.can_train(u)), None)
    try:
        model = services.train_model(actor_id=trainer.pk if trainer else None)
    except exceptions.NotEnoughData:
        return
    services.score_open_leads(model_id=model.pk)
