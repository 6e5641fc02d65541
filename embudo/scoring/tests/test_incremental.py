"""Behaviour events are scored incrementally (stored points + the new events, the history is not read), with
the same result as recomputing from the whole history, and from the history where that is needed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from embudo.core.models import DomainEvent
from embudo.leads.models import Lead, LeadScoreRank
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring import services
from embudo.scoring.models import ScoreEntry, ScoringVersion
from embudo.scoring.tests.engine_helpers import PRICING, WEBINAR, activity, assert_invariant, publish_model
from embudo.tracking import services as tracking

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PRICING_DECAYING = {**PRICING, "decay": "half_life", "decay_days": 60}
DEMO = {"kind": "engagement", "label": "Demo", "points": 30, "event_type": "demo_requested"}
CASE_STUDY = {
    "kind": "engagement",
    "label": "Case study",
    "points": 10,
    "event_type": "page_view",
    "conditions": [{"field": "properties.url", "op": "contains", "value": "/case-studies/"}],
    "window_days": 30,
}
MODEL = [PRICING_DECAYING, WEBINAR, DEMO, CASE_STUDY]


def _event(rng: random.Random, lead: Lead, n: int) -> dict[str, Any]:
    kind = rng.choice(["page_view", "page_view", "webinar_attended", "demo_requested", "email_opened"])
    url = rng.choice(["https://x.example/pricing", "https://x.example/case-studies/acme", "https://x.example/"])
    # Mostly now-ish; some late arrivals from weeks ago (the history decides for those).
    at = NOW - timedelta(days=rng.choice([0, 0, 0, 1, 45, 100]), minutes=rng.randrange(60))
    return {"type": kind, "lead_id": lead.pk, "timestamp": at.isoformat(), "properties": {"url": url}, "id": f"e{n}"}


def test_event_batches_scored_incrementally_equal_a_full_recompute() -> None:
    rng = random.Random(7)
    with time_machine.travel(NOW, tick=False):
        leads = [LeadFactory.create(created_at=NOW - timedelta(days=90)) for _ in range(12)]
        for lead in leads:
            for _ in range(rng.randrange(4)):
                kind = rng.choice(["page_view", "webinar_attended"])
                activity(lead, kind, NOW - timedelta(days=rng.randrange(80)), url="https://x.example/pricing")
        publish_model(MODEL, inactivity_days=30, inactivity_points=-10)
        n = 0
        for _batch in range(6):
            items = []
            for _ in range(20):
                items.append(_event(rng, rng.choice(leads), n))
                n += 1
            result = tracking.ingest_events(items, scope="test", source="api")
            assert result.stored == 20
            # Recomputing everything from the history (same instant) finds nothing to change.
            assert services.score_leads([lead.pk for lead in leads], cause="check") == {}
            assert_invariant()
            # The engine's UPDATE runs in a writable CTE: the rank rows follow it too (statement trigger).
            assert dict(LeadScoreRank.objects.values_list("lead_id", "score")) == dict(
                Lead.objects.values_list("id", "score")
            )
        assert ScoreEntry.objects.filter(cause="activity").exists()
        assert not ScoreEntry.objects.filter(cause="check").exists()


def test_the_history_is_not_read_for_new_events_but_is_while_a_rescore_runs() -> None:
    with time_machine.travel(NOW, tick=False):
        lead = LeadFactory.create()
        first = activity(lead, "webinar_attended", NOW - timedelta(days=3))
        version = publish_model([WEBINAR])
        assert Lead.objects.get(pk=lead.pk).score == 25
        # Take the earlier webinar out of the history: only the stored points remember it.
        DomainEvent.objects.filter(pk=first.pk).delete()
        tracking.ingest_events([{"type": "webinar_attended", "lead_id": lead.pk}], scope="test", source="api")
        assert Lead.objects.get(pk=lead.pk).score == 50  # 25 stored + 25 new, capped at 50
        # While the model's rescore runs, stored points may be the previous model's: the history decides.
        ScoringVersion.objects.filter(pk=version.pk).update(rescore_finished_at=None)
        tracking.ingest_events([{"type": "webinar_attended", "lead_id": lead.pk}], scope="test", source="api")
        assert Lead.objects.get(pk=lead.pk).score == 50  # two webinars in the history now: 50
        DomainEvent.objects.filter(lead_id=lead.pk, type="activity.webinar_attended").delete()
        tracking.ingest_events([{"type": "webinar_attended", "lead_id": lead.pk}], scope="test", source="api")
        assert Lead.objects.get(pk=lead.pk).score == 25  # recomputed from the one webinar left
        assert_invariant()


def test_a_late_event_under_a_decaying_rule_reads_the_history() -> None:
    with time_machine.travel(NOW, tick=False):
        lead = LeadFactory.create()
        activity(lead, "page_view", NOW - timedelta(days=1), url="https://x.example/pricing")
        publish_model([PRICING_DECAYING])
        assert Lead.objects.get(pk=lead.pk).score == 15
        late = (NOW - timedelta(days=120)).isoformat()
        tracking.ingest_events(
            [{"type": "page_view", "lead_id": lead.pk, "timestamp": late, "properties": {"url": "/pricing"}}],
            scope="test",
            source="api",
        )
        # The latest visit still decides (15 × 0.989 → 15), not the late one (15 × 0.25 → 4).
        assert Lead.objects.get(pk=lead.pk).score == 15
        assert services.score_leads([lead.pk], cause="check") == {}
