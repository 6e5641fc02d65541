"""The decay job: the clock alone changes decaying/windowed engagement and inactivity contributions."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring import services, tasks
from embudo.scoring.models import ScoreEntry
from embudo.scoring.tests.engine_helpers import FIT_DIRECTOR, PRICING, activity, assert_invariant, publish_model

pytestmark = pytest.mark.django_db


def test_half_life_decay_and_inactivity_follow_the_clock() -> None:
    now = timezone.now()
    lead = LeadFactory.create(job_title="Director", created_at=now - timedelta(days=1))
    activity(lead, "page_view", now, url="/pricing")
    publish_model(
        [FIT_DIRECTOR, {**PRICING, "points": 40, "decay": "half_life", "decay_days": 10}],
        inactivity_days=30,
        inactivity_points=-10,
    )
    assert Lead.objects.get(pk=lead.pk).score == 90
    with time_machine.travel(now + timedelta(days=10), tick=False):
        tasks.decay(timestamp=0)
        assert Lead.objects.get(pk=lead.pk).score == 70
    with time_machine.travel(now + timedelta(days=31), tick=False):
        services.run_decay()
        # 40 × 0.5^3.1 = 4.67 → 5; no activity for 30 days: −10
        assert Lead.objects.get(pk=lead.pk).score == 45
        assert Lead.objects.get(pk=lead.pk).grade == "cold"
        causes = set(ScoreEntry.objects.filter(lead_id=lead.pk).values_list("cause", flat=True))
        assert causes == {"publish", "decay"}
        # New activity ends the inactivity at once (tracking scores the lead).
        activity(lead, "page_view", timezone.now(), url="/pricing")
        services.score_leads([lead.pk], cause="activity")
        assert Lead.objects.get(pk=lead.pk).score == 50 + 40
    assert_invariant()


def test_decay_leaves_static_rules_alone() -> None:
    lead = LeadFactory.create(job_title="Director")
    publish_model([FIT_DIRECTOR])
    entries = ScoreEntry.objects.count()
    assert services.run_decay() == {}
    assert ScoreEntry.objects.count() == entries
    assert Lead.objects.get(pk=lead.pk).score == 50
