"""Backtests: replaying a draft over stored leads and events without writing scores; the bench's setup."""

from __future__ import annotations

import pytest
from django.utils import timezone

from embudo.bench import scoring as bench
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead
from embudo.leads.tests.factories import CompanyFactory, LeadFactory
from embudo.scoring import services
from embudo.scoring.models import ScoreEntry, ScoringVersion
from embudo.scoring.tests.engine_helpers import FIT_DIRECTOR, WEBINAR, activity, assert_invariant, publish_model

pytestmark = pytest.mark.django_db


def test_backtest_compares_without_writing() -> None:
    won = LeadFactory.create(job_title="Director", outcome="won")
    lost = LeadFactory.create(job_title="Intern", outcome="lost")
    activity(lost, "webinar_attended", timezone.now())
    activity(lost, "webinar_attended", timezone.now())
    publish_model([FIT_DIRECTOR])  # won: 50 warm; lost: 0 cold
    draft = services.create_draft(actor=None)
    services.update_draft(draft.pk, actor=None, rules=[{**FIT_DIRECTOR, "points": 85}, WEBINAR], mql_threshold=50)
    entries = ScoreEntry.objects.count()
    result = services.backtest(draft.pk)
    assert result.status == "done"
    r = result.results
    assert r["leads"] == 2
    assert r["matrix"]["cold"]["hot"] == 1  # won: 50 → 85
    assert r["matrix"]["cold"]["cold"] == 1  # lost: 0 → 50 (warm starts at 51)
    assert r["grade_changed"] == 1 and r["score_changed"] == 2
    assert r["mql_gained"] == 2 and r["mql_lost"] == 0  # the draft's MQL threshold is 50, the published's 81
    assert r["conversion"]["draft"] == {"closed": 1, "won": 1, "won_rate": 1.0}
    assert r["conversion"]["published"] == {"closed": 0, "won": 0, "won_rate": None}
    assert {s["lead_id"] for s in r["sample"]} == {won.pk, lost.pk}
    assert ScoreEntry.objects.count() == entries
    assert Lead.objects.get(pk=won.pk).score == 50


def test_bench_seeds_behaviour_once_and_runs_small() -> None:
    CompanyFactory.create(size="1000+")
    for _ in range(5):
        LeadFactory.create(job_title="Director de IT", company=CompanyFactory.create(size="1000+"))
    LeadFactory.create_batch(5)
    first = bench.seed_behaviour()
    assert first["events_added"] == 10 * bench.EVENTS_PER_LEAD
    assert bench.seed_behaviour()["events_added"] == 0
    assert DomainEvent.objects.filter(type__startswith="activity.").count() == 100
    outcome = bench.run(min_leads=1, events=False)
    assert outcome.figures["leads"] == 10
    assert outcome.figures["initial_score_1m_s"] is not None
    assert ScoringVersion.objects.filter(status="published").count() == 1
    assert_invariant()
    second = bench.run(min_leads=1, events=False)  # toggles back
    assert second.extra["rescore"]["changed_rules"][bench.FIT_LABEL] == (45, 50)
    assert_invariant()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_replay_runs_on_several_connections_with_the_same_result() -> None:
    leads = [LeadFactory.create(job_title="Director" if i % 3 else "Intern", outcome="won" if i % 4 == 0 else "")
             for i in range(12)]  # fmt: skip
    for i, lead in enumerate(leads):
        for _ in range(i % 3):
            activity(lead, "webinar_attended", timezone.now())
    publish_model([FIT_DIRECTOR])
    draft = services.create_draft(actor=None)
    services.update_draft(draft.pk, actor=None, rules=[{**FIT_DIRECTOR, "points": 85}, WEBINAR], mql_threshold=50)
    version = ScoringVersion.objects.get(pk=draft.pk)
    one = services.backtest_results(version, sample_size=5, workers=1)
    three = services.backtest_results(version, sample_size=5, workers=3)
    for result in (one, three):
        result.pop("computed_at")
    assert three == one
    assert one["leads"] == 12
    assert one["score_changed"] > 0
    assert len(one["sample"]) == 5
