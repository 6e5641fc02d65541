"""The API channel of intake, end to end through HTTP: POST /api/v1/leads and /batch."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.accounts import services as account_services
from embudo.accounts.models import Role, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.capture import selectors, services
from embudo.capture.models import ConsentRecord, LeadAttribution, Submission
from embudo.core.models import DomainEvent
from embudo.leads import services as leads_services
from embudo.leads.models import Company, CompanyStatsPending, Lead

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads"


class Api:
    def __init__(self, user: User):
        self.user = user
        _, token = account_services.create_api_token(user_email=user.email, name="tests")
        self.token = token
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def post(self, body: Any, path: str = URL, **meta: Any) -> Any:
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.post(path, data, content_type="application/json", **meta)


@pytest.fixture
def api() -> Api:
    return Api(UserFactory.create(role=Role.MARKETING))


def counts() -> tuple[int, int, int]:
    return Lead.objects.count(), DomainEvent.objects.count(), Submission.objects.count()


def test_new_lead_is_201_normalized_enriched_and_attributed(api: Api) -> None:
    response = api.post(
        {
            "first_name": "  maría JOSÉ ",
            "last_name": "de la fuente",
            "email": " Maria.Fuente@Acme-Iberica.ES ",
            "phone": "600 11 22 33",
            "country": "España",
            "company_name": "Acme Ibérica",
            "utm_source": "newsletter",
            "utm_campaign": "otoño",
            "landing_page": "https://acme.example/precios?utm_medium=email",
        },
        HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True and body["status"] == "processed"
    assert (body["score"], body["grade"], body["owner"]) == (0, "cold", None)
    lead = Lead.objects.get(pk=body["id"])
    assert (lead.first_name, lead.last_name) == ("María José", "De la Fuente")
    assert (lead.email, lead.phone, lead.country) == ("maria.fuente@acme-iberica.es", "+34600112233", "ES")
    assert lead.email_domain_kind == "business"
    assert lead.time_zone == "Europe/Madrid"
    assert lead.language == "es"
    assert lead.company is not None and lead.company.domain == "acme-iberica.es"
    assert lead.source == "api"
    touch = LeadAttribution.objects.get(lead_id=lead.pk)
    assert (touch.first_source, touch.first_medium, touch.first_campaign) == ("newsletter", "email", "otoño")
    types = list(DomainEvent.objects.filter(lead_id=lead.pk).order_by("id").values_list("type", flat=True))
    assert types == ["leads.LeadCreated", "capture.LeadCaptured"]
    submission = Submission.objects.get(pk=body["submission_id"])
    assert (submission.status, submission.outcome, submission.lead_id) == ("processed", "created", lead.pk)
    assert submission.payload["first_name"] == "  maría JOSÉ "  # the raw input is kept as it came


def test_same_email_merges_with_200_and_keeps_known_values(api: Api) -> None:
    first = api.post({"email": "ana@example.com", "first_name": "Ana", "job_title": "CTO"}).json()

    response = api.post({"email": "ANA@example.com", "first_name": "", "phone": "+52 55 1234 5678"})

    assert response.status_code == 200, response.content
    assert response.json()["id"] == first["id"] and response.json()["created"] is False
    lead = Lead.objects.get(pk=first["id"])
    assert (lead.first_name, lead.job_title, lead.phone) == ("Ana", "CTO", "+525512345678")
    update = DomainEvent.objects.get(lead_id=lead.pk, type="leads.LeadUpdated")
    assert update.payload["changes"]["phone"] == ["", "+525512345678"]
    assert update.payload["channel"] == "api"
    assert Lead.objects.count() == 1
    # The merge was scored in the intake transaction, moved no company and no status: none of LeadUpdated's
    # subscribers has anything to do, so none gets a job (config/event_map.ONLY_WHEN).
    assert update.payload["scored"] is True
    jobs = ProcrastinateJob.objects.filter(args__event_id=update.pk)
    assert not jobs.exists(), list(jobs.values_list("task_name", flat=True))
    # The creation queued no job either: scored at intake, and the company's counts follow through the
    # triggers' pending rows (leads.drain_company_stats), not a job per lead.
    created = DomainEvent.objects.get(lead_id=lead.pk, type="leads.LeadCreated")
    assert created.payload["company_id"] == lead.company_id is not None
    assert not ProcrastinateJob.objects.filter(args__event_id=created.pk).exists()
    assert list(CompanyStatsPending.objects.values_list("company_id", flat=True)) == [lead.company_id]
    leads_services.drain_company_stats()
    company = Company.objects.get(pk=lead.company_id)
    assert (company.lead_count, company.last_lead_at) == (1, lead.created_at)


def test_values_guessed_from_a_phone_or_browser_never_replace_what_the_lead_stated(api: Api) -> None:
    first = api.post({"email": "lupe@example.com", "first_name": "Lupe", "country": "México", "language": "es"}).json()

    # A Spanish number and an English browser: country, time zone and language are only guesses here.
    again = api.post({"email": "lupe@example.com", "phone": "+34 611 22 33 44"}, HTTP_ACCEPT_LANGUAGE="en-US,en")

    assert again.status_code == 200 and again.json()["id"] == first["id"]
    lead = Lead.objects.get(pk=first["id"])
    assert (lead.country, lead.language, lead.phone) == ("MX", "es", "+34611223344")
    # A guess still fills a field the lead did not have.
    assert lead.time_zone == "Europe/Madrid"
    # Stated by the person, a new country follows the contact rule (the newest wins).
    api.post({"email": "lupe@example.com", "country": "ES"})
    lead.refresh_from_db()
    assert lead.country == "ES"


def test_phone_alone_matches_an_existing_lead(api: Api) -> None:
    first = api.post({"first_name": "Luis", "phone": "+34 611 22 33 44"}).json()
    again = api.post({"phone": "611223344", "country": "ES", "email": "luis@example.org"})
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert Lead.objects.get().email == "luis@example.org"


def test_idempotency_key_returns_the_first_response_and_creates_nothing_more(api: Api) -> None:
    body = {"email": "once@example.com", "first_name": "Once"}
    first = api.post(body, HTTP_IDEMPOTENCY_KEY="abc-123")
    before = counts()

    second = api.post(body, HTTP_IDEMPOTENCY_KEY="abc-123")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert counts() == before
    reused = api.post({**body, "first_name": "Other"}, HTTP_IDEMPOTENCY_KEY="abc-123")
    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "ok@example.com", "is_admin": True}, "is_admin"),
        ({"email": "ok@example.com", "first_name": 42}, "first_name"),
        ({"email": "ok@example.com", "first_name": "x" * 101}, "first_name"),
        ({"email": "ok@example.com", "team_id": "iberia"}, "team_id"),
        ({"email": "ok@example.com", "team_id": 999_999}, "team_id"),
        ({"email": "ok@example.com", "owner_id": 999_999}, "owner_id"),
        ({"email": "ok@example.com", "custom_fields": {"k": "x" * 20_000}}, "custom_fields"),
        ({"email": "ok@example.com", "custom_fields": [1, 2]}, "custom_fields"),
    ],
)
def test_malformed_requests_are_422_and_store_nothing(api: Api, body: dict[str, Any], field: str) -> None:
    before = counts()
    response = api.post(body)
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "ana@"}, "email"),
        ({"phone": "call me maybe"}, "phone"),
        ({"email": "ok@example.com", "country": "Atlantis"}, "country"),
        ({"job_title": "CTO"}, "email"),
    ],
)
def test_invalid_values_are_422_kept_as_rejected_submissions(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post(body)

    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]
    assert all(isinstance(m, str) and m for m in response.json()["fields"][field])
    submission = Submission.objects.get()
    assert submission.status == "rejected" and submission.reason in {"invalid", "no_contact"}
    assert not Lead.objects.exists() and not DomainEvent.objects.exists()


def test_malformed_json_is_422_and_stores_nothing(api: Api) -> None:
    response = api.post('{"email": "a@example.com",')
    assert response.status_code == 422
    assert response.json()["code"] == "malformed_json"
    assert counts() == (0, 0, 0)


def test_rep_capturing_a_lead_owns_it_and_cannot_give_it_away() -> None:
    team = TeamFactory.create(name="Iberia", slug="iberia")
    rep = UserFactory.create(role=Role.SALES_REP, teams=[team])
    other = UserFactory.create(role=Role.SALES_REP, teams=[team])
    api = Api(rep)

    response = api.post({"email": "mine@example.com"})
    assert response.status_code == 201
    assert response.json()["owner"]["id"] == rep.pk
    assert Lead.objects.get().team_id == team.pk
    assert api.post({"email": "yours@example.com", "owner_id": other.pk}).status_code == 403


def test_consents_are_recorded_with_text_hash_and_version(api: Api) -> None:
    text = "Acepto recibir información comercial de Acme."
    body = api.post(
        {"email": "c@example.com", "consents": [{"purpose": "marketing_email", "text": text, "text_version": "v3"}]}
    ).json()

    record = ConsentRecord.objects.get(lead_id=body["id"])
    assert (record.purpose, record.text_version, record.channel, record.granted) == (
        "marketing_email",
        "v3",
        "api",
        True,
    )
    assert record.text == text and len(record.text_hash) == 64


def test_free_mail_gets_no_company_and_is_flagged(api: Api) -> None:
    body = api.post({"email": "someone@gmail.com", "phone": "+1 415 555 2671"}).json()
    lead = Lead.objects.get(pk=body["id"])
    assert lead.company_id is None and lead.email_domain_kind == "free"
    assert lead.country == "US"
    assert not Company.objects.exists()


def test_processing_failure_keeps_the_submission_and_schedules_a_retry(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(leads_services, "create_lead_from_intake", broken)
    response = api.post({"email": "later@example.com"})

    assert response.status_code == 202
    submission = Submission.objects.get(pk=response.json()["submission_id"])
    assert submission.status == "failed" and "database hiccup" in submission.error
    job = ProcrastinateJob.objects.get(task_name="capture.process_submission")
    assert job.args == {"submission_id": submission.pk}
    assert not Lead.objects.exists()

    monkeypatch.undo()
    assert services.replay_submissions(submission_ids=[submission.pk]) == 1
    submission.refresh_from_db()
    assert (submission.status, submission.outcome) == ("processed", "created")
    assert Lead.objects.get().email == "later@example.com"


def test_batch_returns_per_item_results(api: Api) -> None:
    response = api.post(
        {
            "items": [
                {"email": "b1@example.com", "first_name": "Uno"},
                {"email": "B1@example.com", "job_title": "CEO"},
                {"email": "broken"},
                {"email": "x@example.com", "colour": "red"},
            ]
        },
        path=f"{URL}/batch",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert [item["status_code"] for item in body["items"]] == [201, 200, 422, 422]
    assert body["items"][0]["id"] == body["items"][1]["id"]
    assert "email" in body["items"][2]["fields"] and "colour" in body["items"][3]["fields"]
    assert (body["created"], body["merged"], body["rejected"], body["failed"]) == (1, 1, 2, 0)
    assert Lead.objects.count() == 1


def test_batch_rejects_more_than_1000_items(api: Api) -> None:
    response = api.post({"items": [{"email": f"{i}@example.com"} for i in range(1001)]}, path=f"{URL}/batch")
    assert response.status_code == 422
    assert counts() == (0, 0, 0)


def test_reconciliation_explains_every_submission(api: Api) -> None:
    api.post({"email": "r1@example.com"})
    api.post({"email": "r1@example.com", "first_name": "R"})
    api.post({"email": "nope"})

    report = selectors.reconcile()

    assert (report.received, report.created, report.merged, report.rejected) == (3, 1, 1, 1)
    assert report.rejected_reasons == {"invalid": 1}
    assert report.unexplained == 0


def test_capture_query_count_is_bounded(api: Api, django_assert_max_num_queries: Any) -> None:
    api.post({"email": "warm@example.com"})  # warm caches (content types, token)
    # token; store the submission; savepoint; company read + insert; one lookup by email or phone;
    # insert lead; LeadCreated + its job; attribution upsert; LeadCaptured; finish; release; commit;
    # scoring: the published model (none here); routing: the lead's team and rule set (none), the
    # speed-to-lead marks; +1 when a per-process cache (published model / rule set) is cold. With a model
    # and pools configured, see test_intake_full_path.py.
    with django_assert_max_num_queries(21):
        response = api.post({"email": "q@example.com", "first_name": "Q", "company_domain": "q.example"})
    assert response.status_code == 201
    with django_assert_max_num_queries(20):  # known company: no insert
        response = api.post({"email": "r@example.com", "first_name": "R", "company_domain": "q.example"})
    assert response.status_code == 201


def test_attribution_keeps_the_first_touch_and_moves_the_last(api: Api) -> None:
    first = api.post({"email": "touch@example.com", "utm_source": "newsletter"})
    api.post({"email": "touch@example.com", "utm_source": "ads", "utm_campaign": "autumn"})

    row = LeadAttribution.objects.get(lead_id=first.json()["id"])
    assert (row.first_source, row.first_campaign) == ("newsletter", "")
    assert (row.last_source, row.last_campaign) == ("ads", "autumn")
    assert row.last_at > row.first_at


def test_a_referrer_that_is_no_url_is_kept_and_the_lead_is_created(api: Api) -> None:
    """A client sends whatever referrer it likes: an IPv6 bracket that never closes used to make every
    processing attempt raise (submission failed, retried eight times, no lead)."""
    response = api.post({"email": "bracket@example.com", "referrer": "http://[::1"}, HTTP_REFERER="http://[abc/")

    assert response.status_code == 201
    submission = Submission.objects.get(lead_id=response.json()["id"])
    assert submission.status == "processed"
    row = LeadAttribution.objects.get(lead_id=response.json()["id"])
    assert (row.first_referrer, row.first_source, row.first_medium) == ("http://[::1", "api", "")


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_of_one_email_make_one_lead() -> None:
    api = Api(UserFactory.create(role=Role.ADMIN))
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def submit(i: int) -> None:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {api.token}")
        barrier.wait()
        try:
            response = client.post(
                URL, json.dumps({"email": "race@example.com", "first_name": f"R{i}"}), content_type="application/json"
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 200, 200, 201]
    assert Lead.objects.filter(email="race@example.com").count() == 1
    assert Submission.objects.filter(status="processed").count() == 4
