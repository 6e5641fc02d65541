"""Publishing: archive, background rescore with progress, only changed rules recomputed, team scopes,
the demo model."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead
from embudo.leads.tests.factories import CompanyFactory, LeadFactory
from embudo.scoring import demo, selectors, services
from embudo.scoring.models import ScoreEntry, ScoringVersion
from embudo.scoring.tests.engine_helpers import (
    FIT_DIRECTOR,
    WEBINAR,
    activity,
    assert_invariant,
    publish_model,
)

pytestmark = pytest.mark.django_db


def test_publish_recomputes_only_changed_rules() -> None:
    lead = LeadFactory.create(job_title="Director")
    activity(lead, "webinar_attended", timezone.now())
    v1 = publish_model([FIT_DIRECTOR, WEBINAR])
    assert Lead.objects.get(pk=lead.pk).score == 75
    draft = services.create_draft(actor=None)
    rules = [services.rule_as_dict(r) for r in draft.rules.all()]
    rules[1]["points"] = 30  # webinar changed; the fit rule unchanged
    rules[0]["label"] = "Senior (renamed)"  # a label is not a definition change
    services.update_draft(draft.pk, actor=None, rules=rules)
    v2 = services.publish(draft.pk, actor=None, rescore="now")
    assert ScoringVersion.objects.get(pk=v1.pk).status == "archived"
    entries = list(ScoreEntry.objects.filter(lead_id=lead.pk, version=v2).values_list("points", "cause", "reason"))
    assert entries == [(5, "publish", "Webinar")]
    progress = selectors.rescore_progress(v2.pk)
    assert progress is not None and progress.percent == 100 and progress.total == 1
    assert Lead.objects.get(pk=lead.pk).score == 80
    # A removed rule is reversed.
    draft = services.create_draft(actor=None)
    services.update_draft(draft.pk, actor=None, rules=[services.rule_as_dict(draft.rules.all()[1])])
    services.publish(draft.pk, actor=None, rescore="now")
    assert Lead.objects.get(pk=lead.pk).score == 30
    assert_invariant()


def test_team_version_scores_only_its_team() -> None:
    team = TeamFactory.create()
    ours = LeadFactory.create(job_title="Director", team=team)
    others = LeadFactory.create(job_title="Director")
    publish_model([FIT_DIRECTOR])
    team_version = publish_model([{**FIT_DIRECTOR, "points": 90}], team_id=team.pk)
    assert team_version.team_id == team.pk
    assert Lead.objects.get(pk=ours.pk).score == 90
    assert Lead.objects.get(pk=others.pk).score == 50
    services.score_leads([ours.pk, others.pk], cause="check")
    assert Lead.objects.get(pk=ours.pk).grade == "hot"
    assert_invariant()


def test_background_publish_defers_the_rescore_job() -> None:
    LeadFactory.create(job_title="Director")
    draft = services.create_draft(actor=None)
    services.update_draft(draft.pk, actor=None, rules=[FIT_DIRECTOR])
    services.publish(draft.pk, actor=None)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT args FROM procrastinate_jobs WHERE task_name = 'scoring.rescore_version'")
        args = [json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in cursor.fetchall()]
    assert args == [{"version_id": draft.pk, "previous_id": None}]
    from embudo.scoring import tasks

    tasks.rescore_version(version_id=draft.pk)
    assert Lead.objects.get().score == 50


def test_demo_model() -> None:
    big = CompanyFactory.create(size="1000+")
    director = LeadFactory.create(job_title="Directora Comercial", company=big)
    student = LeadFactory.create(job_title="Estudiante", email_domain_kind="free")
    activity(director, "page_view", timezone.now(), url="https://embudo.demo/pricing")
    activity(director, "demo_requested", timezone.now())
    marketing = UserFactory.create(role="marketing")
    demo.seed_demo(teams={}, users={"marketing": marketing})
    demo.seed_demo(teams={}, users={"marketing": marketing})  # idempotent
    assert ScoringVersion.objects.count() == 1
    assert Lead.objects.get(pk=director.pk).score == 95
    assert Lead.objects.get(pk=director.pk).grade == "hot"
    assert Lead.objects.get(pk=student.pk).score == -40
    assert DomainEvent.objects.filter(type="scoring.GradeChanged", lead_id=director.pk).exists()
    assert_invariant()
