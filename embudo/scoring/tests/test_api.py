"""The scoring API: versions, drafts, validation, publishing, backtests and a lead's score."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from embudo.accounts import services as account_services
from embudo.accounts.models import User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring.models import Backtest, ScoringVersion
from embudo.scoring.tests.engine_helpers import FIT_DIRECTOR, PRICING, WEBINAR, activity

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user: User):
        _, token = account_services.create_api_token(user_email=user.email, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(path, json.dumps(body or {}), content_type="application/json")

    def put(self, path: str, body: Any) -> Any:
        return self.client.put(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def marketing() -> Api:
    return Api(UserFactory.create(role="marketing"))


def test_draft_edit_backtest_publish_and_explain(marketing: Api, django_capture_on_commit_callbacks: Any) -> None:
    lead = LeadFactory.create(job_title="Head of Sales", outcome="won")
    other = LeadFactory.create(job_title="Intern")
    activity(lead, "page_view", timezone.now(), url="/pricing")
    response = marketing.post("/api/v1/scoring/versions", {"name": "Seed model"})
    assert response.status_code == 201, response.content
    draft = response.json()
    assert draft["status"] == "draft" and draft["rules"] == []
    response = marketing.put(
        f"/api/v1/scoring/versions/{draft['id']}", {"rules": [FIT_DIRECTOR, PRICING, WEBINAR], "hot_min": 60}
    )
    assert response.status_code == 200, response.content
    rules = response.json()["rules"]
    assert [r["label"] for r in rules] == ["Senior title", "Pricing page", "Webinar"]

    response = marketing.post(f"/api/v1/scoring/versions/{draft['id']}/backtest")
    assert response.status_code == 202
    from embudo.scoring import services

    services.run_backtest(response.json()["id"])
    results = marketing.get(f"/api/v1/scoring/backtests/{response.json()['id']}").json()
    assert results["status"] == "done"
    assert results["results"]["matrix"]["cold"]["hot"] == 1
    assert results["results"]["leads"] == 2
    assert results["results"]["conversion"]["draft"] == {"closed": 1, "won": 1, "won_rate": 1.0}
    assert results["results"]["sample"][0]["lead_id"] == lead.pk

    response = marketing.post(f"/api/v1/scoring/versions/{draft['id']}/publish")
    assert response.status_code == 200
    assert response.json()["status"] == "published"
    services.rescore_after_publish(draft["id"])
    version = marketing.get(f"/api/v1/scoring/versions/{draft['id']}").json()
    assert version["rescore"]["percent"] == 100 and version["rescore"]["total"] == 2
    assert Lead.objects.get(pk=lead.pk).score == 65
    assert Lead.objects.get(pk=other.pk).score == 0

    score = marketing.get(f"/api/v1/leads/{lead.pk}/score").json()
    assert score["score"] == 65 and score["grade"] == "hot"
    assert [(line["label"], line["points"]) for line in score["breakdown"]] == [
        ("Senior title", 50),
        ("Pricing page", 15),
    ]
    assert sum(e["points"] for e in score["ledger"]) == 65
    assert {e["cause"] for e in score["ledger"]} == {"publish"}

    # Published versions are read-only; copy to a new draft keeps rule keys.
    assert marketing.put(f"/api/v1/scoring/versions/{draft['id']}", {"name": "x"}).status_code == 409
    copy = marketing.post(f"/api/v1/scoring/versions/{draft['id']}/draft").json()
    assert copy["number"] == 2
    assert [r["key"] for r in copy["rules"]] == [r["key"] for r in rules]


def test_validation_errors_are_field_level(marketing: Api) -> None:
    draft = marketing.post("/api/v1/scoring/versions", {}).json()
    bad = [
        {"kind": "fit", "label": "x", "points": 5, "conditions": [{"field": "nope", "op": "equals", "value": "a"}]},
        {"kind": "engagement", "label": "y", "points": 5, "event_type": "Page View", "repeatable": True},
        {"kind": "fit", "label": "z", "points": 5, "conditions": [{"field": "job_title", "op": "gte", "value": "a"}]},
    ]
    response = marketing.put(f"/api/v1/scoring/versions/{draft['id']}", {"rules": bad, "warm_min": 90})
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert set(fields) == {
        "rules.0.conditions.0.field",
        "rules.1.event_type",
        "rules.1.max_points",
        "rules.2.conditions.0.value",
        "hot_min",
    }
    too_much = [{"kind": "fit", "label": f"r{i}", "points": 600} for i in range(2)]
    response = marketing.put(f"/api/v1/scoring/versions/{draft['id']}", {"rules": too_much})
    assert response.status_code == 422 and "rules" in response.json()["fields"]


def test_roles() -> None:
    team = TeamFactory.create()
    rep_user = UserFactory.create(role="sales_rep", teams=[team])
    rep = Api(rep_user)
    assert rep.get("/api/v1/scoring/versions").status_code == 403
    assert rep.post("/api/v1/scoring/versions", {}).status_code == 403
    mine = LeadFactory.create(owner=rep_user, team=team)
    theirs = LeadFactory.create(owner=UserFactory.create(role="sales_rep"))
    assert rep.get(f"/api/v1/leads/{mine.pk}/score").status_code == 200
    assert rep.get(f"/api/v1/leads/{theirs.pk}/score").status_code == 404
    assert ScoringVersion.objects.count() == 0 and Backtest.objects.count() == 0
