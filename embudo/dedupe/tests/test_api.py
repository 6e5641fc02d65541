"""The duplicates API end to end: queue, dismiss, merge, undo, role rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import Role, User
from embudo.accounts.tests.factories import UserFactory
from embudo.dedupe import services
from embudo.dedupe.models import DuplicateCandidate
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user: User):
        _, token = account_services.create_api_token(user_email=user.email, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(path, json.dumps(body or {}), content_type="application/json")


def pair() -> tuple[Lead, Lead]:
    a = LeadFactory.create(first_name="Ana", last_name="Torres", email="ana@acme.example", city="Madrid")
    b = LeadFactory.create(first_name="Ana", last_name="Torres Ruiz", email="ana.t@gmail.com", job_title="CEO")
    services.record_candidate(lead_id=a.pk, other_id=b.pk, score=0.82,
                              reasons=[{"field": "last_name", "similarity": 0.9, "weight": 2.0}])  # fmt: skip
    return a, b


def test_queue_merge_and_undo_through_the_api() -> None:
    api = Api(UserFactory.create(role=Role.MARKETING))
    a, b = pair()

    queue = api.get("/api/v1/duplicates").json()
    assert [(d["lead_a"]["id"], d["lead_b"]["id"], d["score"]) for d in queue] == [(a.pk, b.pk, 0.82)]
    assert queue[0]["reasons"][0]["field"] == "last_name"

    response = api.post(f"/api/v1/leads/{a.pk}/merge", {"merged_id": b.pk, "fields": {"last_name": "merged"}})
    assert response.status_code == 201, response.content
    merge = response.json()
    assert Lead.objects.get(pk=a.pk).last_name == "Torres Ruiz"
    assert not Lead.objects.filter(pk=b.pk).exists()
    assert api.get("/api/v1/duplicates").json() == []

    undo = api.post(f"/api/v1/merges/{merge['id']}/undo")
    assert undo.status_code == 200 and undo.json()["undone_at"]
    assert Lead.objects.get(pk=a.pk).last_name == "Torres"
    assert Lead.objects.get(pk=b.pk).job_title == "CEO"
    assert api.post(f"/api/v1/merges/{merge['id']}/undo").json()["code"] == "merge_conflict"


def test_dismiss_through_the_api() -> None:
    api = Api(UserFactory.create(role=Role.ADMIN))
    pair()
    candidate = DuplicateCandidate.objects.get()
    response = api.post(f"/api/v1/duplicates/{candidate.pk}/dismiss")
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    assert api.get("/api/v1/duplicates").json() == []
    assert len(api.get("/api/v1/duplicates?status=dismissed").json()) == 1


def test_reps_get_403_everywhere() -> None:
    api = Api(UserFactory.create(role=Role.SALES_REP))
    a, b = pair()
    candidate = DuplicateCandidate.objects.get()
    assert api.get("/api/v1/duplicates").status_code == 403
    assert api.post(f"/api/v1/duplicates/{candidate.pk}/dismiss").status_code == 403
    assert api.post(f"/api/v1/leads/{a.pk}/merge", {"merged_id": b.pk}).status_code == 403
    assert Lead.objects.count() == 2


def test_merge_errors_are_json() -> None:
    api = Api(UserFactory.create(role=Role.ADMIN))
    a, _ = pair()
    assert api.post(f"/api/v1/leads/{a.pk}/merge", {"merged_id": 999999}).status_code == 404
    assert api.post(f"/api/v1/leads/{a.pk}/merge", {"merged_id": a.pk}).json()["code"] == "invalid_merge"
    bad = api.post(f"/api/v1/leads/{a.pk}/merge", {"merged_id": 1, "fields": {"email": "theirs"}})
    assert bad.status_code == 422
    assert api.post("/api/v1/merges/424242/undo").status_code == 404
