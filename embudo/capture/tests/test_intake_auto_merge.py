"""A fuzzy match above the auto-merge threshold at intake is a recorded, reversible merge: the submission
gets its own lead first, which is merged into the match; undo gives that person back exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from embudo.accounts import services as account_services
from embudo.accounts.models import Role
from embudo.capture.models import Submission
from embudo.dedupe import services as dedupe_services
from embudo.dedupe.models import CandidateStatus, DuplicateCandidate, Merge
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db

FIRST = {"email": "jose.perez@acme.es", "first_name": "José", "last_name": "Pérez Martín",
         "company_name": "Acme S.L.", "city": "Sevilla", "street_address": "Calle Feria 12", "postal_code": "41003",
         "phone": "+34600111222"}  # fmt: skip
SAME_PERSON = {"email": "pepe.perez@gmail.com", "first_name": "Pepe", "last_name": "Perez Martin",
               "company_name": "ACME", "city": "Sevilla", "street_address": "C/ Feria 12", "postal_code": "41003",
               "phone": "+34 955 123 456", "job_title": "CTO"}  # fmt: skip


@pytest.fixture
def client() -> Client:
    account_services.create_user(email="api@example.com", role=Role.ADMIN, password="x" * 12)
    _, token = account_services.create_api_token(user_email="api@example.com", name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def post(client: Client, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/leads", json.dumps(body), content_type="application/json")


def test_an_auto_merge_at_intake_answers_with_the_existing_lead_and_can_be_undone(client: Client) -> None:
    first = post(client, FIRST)
    assert first.status_code == 201, first.content
    match = dedupe_services.find_fuzzy_match({k: v for k, v in SAME_PERSON.items() if k != "job_title"})
    assert match is not None and match.auto_merge, match  # the pair is above the auto-merge threshold

    second = post(client, SAME_PERSON)

    assert second.status_code == 200, second.content
    assert second.json()["id"] == first.json()["id"] and second.json()["created"] is False
    assert Lead.objects.count() == 1
    survivor = Lead.objects.get()
    assert survivor.job_title == "CTO"  # the new value joined the record (survivorship: never lose data)
    merge = Merge.objects.get()
    assert merge.automatic and merge.survivor_id == survivor.pk
    assert DuplicateCandidate.objects.get().status == CandidateStatus.MERGED
    submission = Submission.objects.get(pk=second.json()["submission_id"])
    assert submission.lead_id == survivor.pk and submission.outcome == "merged"

    dedupe_services.unmerge(actor=None, merge_id=merge.pk)

    assert Lead.objects.count() == 2
    restored = Lead.objects.exclude(pk=survivor.pk).get()
    assert restored.email == "pepe.perez@gmail.com" and restored.job_title == "CTO"
    assert Lead.objects.get(pk=survivor.pk).job_title == ""
    assert Submission.objects.get(pk=submission.pk).lead_id == restored.pk


def test_a_review_level_match_creates_the_lead_and_queues_the_pair(client: Client) -> None:
    post(client, FIRST)
    weaker = {"email": "j.perez@otra.es", "first_name": "José", "last_name": "Pérez", "city": "Sevilla"}
    match = dedupe_services.find_fuzzy_match(weaker)
    assert match is not None and not match.auto_merge, match

    response = post(client, weaker)

    assert response.status_code == 201
    assert Lead.objects.count() == 2 and not Merge.objects.exists()
    assert DuplicateCandidate.objects.get().status == CandidateStatus.OPEN
