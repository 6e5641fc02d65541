"""The review queue, the merge screen, dismiss and undo through the HTML views."""

from __future__ import annotations

import pytest
from django.test import Client

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.dedupe import services
from embudo.dedupe.models import DuplicateCandidate, Merge
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def logged_in(client: Client, role: str = Role.MANAGER) -> Client:
    client.force_login(UserFactory.create(role=Role.MARKETING if role == Role.MANAGER else role))
    return client


def queued() -> DuplicateCandidate:
    a = LeadFactory.create(first_name="Lucía", last_name="Núñez", email="lucia@acme.example", city="Bilbao")
    b = LeadFactory.create(first_name="Lucia", last_name="Nunez", email="lnunez@gmail.com", job_title="COO")
    services.record_candidate(lead_id=a.pk, other_id=b.pk, score=0.77,
                              reasons=[{"field": "last_name", "similarity": 0.95, "weight": 3.1}])  # fmt: skip
    return DuplicateCandidate.objects.get()


def test_queue_lists_pairs_with_score_and_reasons(client: Client) -> None:
    candidate = queued()
    body = logged_in(client).get("/duplicates/").content.decode()
    assert "Lucía Núñez" in body and "77%" in body and "Last name: 95% alike" in body
    assert f"/duplicates/{candidate.pk}/merge/" in body


def test_merge_screen_merges_the_picked_values_and_undo_restores(client: Client) -> None:
    candidate = queued()
    client = logged_in(client)
    page = client.get(f"/duplicates/{candidate.pk}/merge/").content.decode()
    assert 'name="job_title" value="b" checked' in page  # survivorship: a known value beats an empty one
    data = dict.fromkeys(services.MERGE_FIELDS, "a") | {"email": "b", "job_title": "b"}
    response = client.post(f"/duplicates/{candidate.pk}/merge/", data)
    assert response.status_code == 302 and response["Location"] == f"/leads/{candidate.lead_a_id}/"
    survivor = Lead.objects.get(pk=candidate.lead_a_id)
    assert (survivor.email, survivor.job_title, survivor.last_name) == ("lnunez@gmail.com", "COO", "Núñez")
    detail = client.get(f"/leads/{survivor.pk}/").content.decode()
    assert "merged a duplicate lead into this one" in detail and "Undo merge" in detail

    merge = Merge.objects.get()
    client.post(f"/duplicates/merges/{merge.pk}/undo/")
    assert Lead.objects.get(pk=candidate.lead_b_id).email == "lnunez@gmail.com"
    assert Lead.objects.get(pk=candidate.lead_a_id).email == "lucia@acme.example"


def test_dismiss_removes_the_pair_from_the_queue(client: Client) -> None:
    candidate = queued()
    client = logged_in(client, Role.ADMIN)
    client.post(f"/duplicates/{candidate.pk}/dismiss/")
    assert "No possible duplicates" in client.get("/duplicates/").content.decode()


def test_lead_page_shows_possible_duplicates_to_managers_only(client: Client) -> None:
    candidate = queued()
    manager_client = logged_in(Client(), Role.ADMIN)
    assert "Possible duplicates" in manager_client.get(f"/leads/{candidate.lead_a_id}/").content.decode()
    rep = logged_in(client, Role.SALES_REP)
    assert rep.get("/duplicates/").status_code == 403
    assert rep.get(f"/duplicates/{candidate.pk}/merge/").status_code == 403


def test_spanish_queue(client: Client) -> None:
    queued()
    user = UserFactory.create(role=Role.ADMIN, language="es")
    client.force_login(user)
    body = client.get("/duplicates/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Duplicados" in body
