"""The set-based scoring engine: fit and engagement rules, decay, caps, inactivity, diffs, ledger."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from embudo.core.models import DomainEvent
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring import services
from embudo.scoring.models import ScoreContribution, ScoreEntry
from embudo.scoring.tests.engine_helpers import (
    FIT_DIRECTOR,
    FREE_MAIL,
    PRICING,
    WEBINAR,
    activity,
    assert_invariant,
    publish_model,
)

pytestmark = pytest.mark.django_db


def test_fit_and_engagement_rules_score_a_lead() -> None:
    lead = LeadFactory.create(job_title="IT Director", email_domain_kind="free")
    publish_model([FIT_DIRECTOR, PRICING, WEBINAR, FREE_MAIL])
    lead.refresh_from_db()
    assert lead.score == 40
    now = timezone.now()
    activity(lead, "page_view", now, url="https://x.example/pricing")
    activity(lead, "page_view", now, url="https://x.example/pricing?b")
    for _ in range(3):
        activity(lead, "webinar_attended", now)
    changes = services.score_leads([lead.pk], cause="activity")
    lead.refresh_from_db()
    assert lead.score == 40 + 15 + 50  # once-only pricing; webinar 3×25 capped at 50
    assert lead.grade == "hot"
    assert changes[lead.pk].became_hot
    assert DomainEvent.objects.filter(type="scoring.GradeChanged", lead_id=lead.pk).count() == 1
    assert_invariant()
    # Nothing changed: nothing is written.
    entries = ScoreEntry.objects.count()
    assert services.score_leads([lead.pk], cause="activity") == {}
    assert ScoreEntry.objects.count() == entries


def test_edit_removes_a_fit_contribution() -> None:
    lead = LeadFactory.create(job_title="Head of IT")
    publish_model([FIT_DIRECTOR])
    Lead.objects.filter(pk=lead.pk).update(job_title="Student")
    changes = services.score_leads([lead.pk], cause="edited")
    assert changes[lead.pk].score == 0
    assert not ScoreContribution.objects.filter(lead_id=lead.pk).exists()
    assert list(ScoreEntry.objects.filter(lead_id=lead.pk).order_by("id").values_list("points", "cause")) == [
        (50, "publish"),
        (-50, "edited"),
    ]


def test_decay_and_window() -> None:
    lead = LeadFactory.create(created_at=timezone.now() - timedelta(days=100))
    rule = {**PRICING, "decay": "linear", "decay_days": 10, "points": 20}
    windowed = {**WEBINAR, "window_days": 5}
    publish_model([rule, windowed])
    now = timezone.now()
    activity(lead, "page_view", now - timedelta(days=5), url="/pricing")
    activity(lead, "webinar_attended", now - timedelta(days=4))
    services.score_leads([lead.pk], cause="activity")
    lead.refresh_from_db()
    assert lead.score == 10 + 25
    with time_machine.travel(now + timedelta(days=2, hours=12), tick=False):
        services.run_decay()
        lead.refresh_from_db()
        assert lead.score == 5  # 20 × (1 - 7.5/10); the webinar left its 5-day window
    assert_invariant()


def test_inactivity() -> None:
    now = timezone.now()
    lead = LeadFactory.create(created_at=now - timedelta(days=40))
    fresh = LeadFactory.create(created_at=now - timedelta(days=3))
    active = LeadFactory.create(created_at=now - timedelta(days=40))
    activity(active, "page_view", now - timedelta(days=1), url="/")
    publish_model([PRICING], inactivity_days=30, inactivity_points=-10)
    scores = dict(Lead.objects.values_list("id", "score"))
    assert scores == {lead.pk: -10, fresh.pk: 0, active.pk: 0}
    assert_invariant()


def test_intake_scoring_is_a_few_queries(django_assert_max_num_queries: object) -> None:
    publish_model([FIT_DIRECTOR, PRICING, WEBINAR, FREE_MAIL], inactivity_days=30, inactivity_points=-10)
    lead = LeadFactory.create(job_title="VP Sales")
    services.score_leads([LeadFactory.create().pk], cause="captured")  # warms the compiled-version cache
    with django_assert_max_num_queries(4):  # type: ignore[operator]
        services.score_leads([lead.pk], cause="captured")


def test_batch_scoring_is_set_based(django_assert_max_num_queries: object) -> None:
    publish_model([FIT_DIRECTOR, PRICING, WEBINAR])
    leads = LeadFactory.create_batch(30, job_title="Director")
    now = timezone.now()
    for lead in leads:
        activity(lead, "webinar_attended", now)
    services.score_leads([leads[0].pk], cause="captured")
    # lock, diff-and-write, grade events, their jobs: the same for 29 leads as for 1,000
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        changes = services.score_leads([lead.pk for lead in leads[1:]], cause="activity")
    assert len(changes) == 29


def test_the_engagement_read_uses_the_activity_index() -> None:
    """Only the lead's events of the model's types are read (scoring_activity_lead_type_idx), not all of them."""
    from django.db import connection

    from embudo.scoring.domain import rules as rule_domain
    from embudo.scoring.domain import sql as engine

    rule = rule_domain.RuleSpec(key=uuid.UUID(int=7), kind="engagement", label="Webinar", points=25,
                                event_type="webinar_attended")  # fmt: skip
    engagement = engine.engagement_sql([rule], timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"EXPLAIN WITH scope AS (SELECT 1::bigint AS lead_id) {engagement.text}",
            engagement.params,
        )
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "scoring_activity_lead_type_idx" in plan


def test_a_bulk_group_writes_the_rank_rows_itself_and_the_trigger_is_back_on_after() -> None:
    """More leads than the generic-plan limit: the engine updates leads_leadscorerank set-based and switches
    the row trigger off for that statement only; a later plain UPDATE of a score is kept by the trigger."""
    from embudo.leads.models import LeadScoreRank

    leads = [LeadFactory.create(job_title="Director") for _ in range(services.GENERIC_PLAN_MAX_LEADS + 5)]
    publish_model([FIT_DIRECTOR])
    Lead.objects.update(score=0)  # the trigger keeps the ranks at 0 too
    services.score_leads([lead.pk for lead in leads], cause="test")
    ranks = dict(LeadScoreRank.objects.values_list("lead_id", "score"))
    assert set(ranks.values()) == {50}
    assert ranks == dict(Lead.objects.values_list("id", "score"))
    Lead.objects.filter(pk=leads[0].pk).update(score=7)
    assert LeadScoreRank.objects.get(lead_id=leads[0].pk).score == 7


def test_only_moves_into_hot_get_a_routing_job() -> None:
    """Routing reacts to "became hot" alone (config/event_map.ONLY_WHEN): a cold → warm move is on the
    timeline but queues no job that would load it and return."""
    from procrastinate.contrib.django.models import ProcrastinateJob

    lead = LeadFactory.create(job_title="Sales rep", email_domain_kind="business")
    publish_model([WEBINAR], warm_min=20, hot_min=50)
    now = timezone.now()
    activity(lead, "webinar_attended", now)
    services.score_leads([lead.pk], cause="activity")
    assert Lead.objects.get(pk=lead.pk).grade == "warm"
    moves = DomainEvent.objects.filter(type="scoring.GradeChanged", lead_id=lead.pk).order_by("pk")
    assert [e.payload["grade"] for e in moves] == ["warm"]
    assert not ProcrastinateJob.objects.filter(task_name="routing.on_grade_changed").exists()

    activity(lead, "webinar_attended", now)
    activity(lead, "webinar_attended", now)
    services.score_leads([lead.pk], cause="activity")
    hot = DomainEvent.objects.filter(type="scoring.GradeChanged", lead_id=lead.pk).order_by("pk").last()
    assert hot is not None and hot.payload["became_hot"] is True
    jobs = ProcrastinateJob.objects.filter(task_name="routing.on_grade_changed")
    assert [job.args for job in jobs] == [{"event_id": hot.pk}]
