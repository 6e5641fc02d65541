"""The public form: hosted page and submit endpoint, through the Django test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.capture import forms_channel
from embudo.capture.models import ConsentRecord, LeadAttribution, Submission
from embudo.capture.tests.forms_helpers import make_form, post_data
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_hosted_page_renders_labels_in_visitor_language_with_consent_and_anti_bot_fields(client: Client) -> None:
    make_form()
    page = client.get("/f/contact/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9").content.decode()
    assert "Correo" in page and "Empresa" in page
    assert "Acepto recibir correos comerciales." in page and "v2" in page
    assert 'name="website_url"' in page and 'name="_t"' in page
    english = client.get("/f/contact/?lang=en", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "First name" in english


def test_valid_submission_creates_lead_with_consent_and_utm_attribution(client: Client) -> None:
    form = make_form()
    data = post_data(form, email="Ana@Example.COM", first_name="ana", company="Acme",
                     landing_page="https://www.example.com/p?utm_source=news&utm_campaign=spring",
                     referrer="https://google.com/")  # fmt: skip
    response = client.post("/f/contact/", data)
    assert response.status_code == 200
    assert "Thanks a lot!" in response.content.decode()
    lead = Lead.objects.get(email="ana@example.com")
    assert lead.first_name == "Ana" and lead.company_name == "Acme"
    attribution = LeadAttribution.objects.get(lead_id=lead.pk)
    assert (attribution.first_source, attribution.first_campaign) == ("news", "spring")
    consent = ConsentRecord.objects.get(lead_id=lead.pk)
    assert consent.text == "I agree to receive marketing emails."
    assert (consent.text_version, consent.purpose, consent.form_id) == ("v2", "marketing_email", form.pk)
    assert consent.page_url.startswith("https://www.example.com/p")
    assert Submission.objects.get().form_id == form.pk


def test_invalid_email_gives_inline_error_in_spanish_and_keeps_the_submission(client: Client) -> None:
    form = make_form(slug="es-form")
    response = client.post(
        "/f/es-form/", post_data(form, email="not-an-email", first_name="Ana"), HTTP_ACCEPT_LANGUAGE="es"
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Introduce un correo electrónico válido." in page
    assert 'value="Ana"' in page  # what the visitor typed is kept in the form
    assert not Lead.objects.exists()
    submission = Submission.objects.filter(form_id=form.pk).get()
    assert submission.status == "rejected"


def test_missing_required_consent_is_an_inline_error_and_no_lead(client: Client) -> None:
    form = make_form()
    response = client.post("/f/contact/", post_data(form, consent=None, email="ana@example.com", first_name="Ana"))
    assert response.status_code == 400
    assert "Please give your consent to continue." in response.content.decode()
    assert not Lead.objects.exists()
    assert Submission.objects.get().reason == "incomplete"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"website_url": "http://spam.example"}, "honeypot"),
        ({"age": 0.5}, "too_fast"),
        ({"_t": "forged"}, "bad_token"),
    ],
)
def test_suspicious_posts_are_quarantined_and_the_bot_sees_thanks(
    client: Client, change: dict[str, Any], reason: str
) -> None:
    form = make_form()
    age = change.pop("age", 30)
    data = post_data(form, age=age, email="bot@example.com", first_name="Bot") | change
    response = client.post("/f/contact/", data)
    assert response.status_code == 200 and "Thanks a lot!" in response.content.decode()
    submission = Submission.objects.get()
    assert (submission.status, submission.reason) == ("quarantined", reason)
    assert not Lead.objects.exists()


def test_rate_limit_per_ip_quarantines_the_excess(client: Client) -> None:
    form = make_form(max_per_ip_per_hour=2)
    for n in range(3):
        client.post("/f/contact/", post_data(form, email=f"p{n}@example.com", first_name="Pia"))
    statuses = list(Submission.objects.order_by("id").values_list("status", "reason"))
    assert statuses == [("processed", ""), ("processed", ""), ("quarantined", "rate_limited")]
    assert Lead.objects.count() == 2


def test_per_ip_rate_limit_query_can_use_the_form_submissions_index() -> None:
    """``submission_form_ip_idx`` holds form submissions only (capture/0004); the limit's query names its form,
    which the planner must see implies the index's condition."""
    form = make_form(max_per_ip_per_hour=2)
    query = Submission.objects.filter(form_id=form.pk, received_at__gte="2026-01-01T00:00:00Z", ip="203.0.113.9")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    assert "submission_form_ip_idx" in query.explain()


def test_redirect_only_to_allowed_hosts(client: Client) -> None:
    form = make_form(redirect_url="https://www.example.com/thanks")
    response = client.post("/f/contact/", post_data(form, email="a@example.com", first_name="Ana"))
    assert response.status_code == 302 and response["Location"] == "https://www.example.com/thanks"
    evil = make_form(slug="evil", redirect_url="https://evil.example.net/")
    response = client.post("/f/evil/", post_data(evil, email="b@example.com", first_name="Bea"))
    assert response.status_code == 200 and "Thanks a lot!" in response.content.decode()


def test_double_click_creates_one_submission_and_one_lead(client: Client) -> None:
    form = make_form()
    data = post_data(form, email="ana@example.com", first_name="Ana")
    first = client.post("/f/contact/", data)
    second = client.post("/f/contact/", data)
    assert first.status_code == second.status_code == 200
    assert Submission.objects.count() == 1 and Lead.objects.count() == 1


def test_progressive_profiling_asks_next_fields_and_never_echoes_known_values(client: Client) -> None:
    form = make_form()
    client.post("/f/contact/", post_data(form, email="ana.known@example.com", first_name="Anabel"))
    lead = Lead.objects.get()
    assert client.cookies[forms_channel.KNOWN_COOKIE]["httponly"]
    page = client.get("/f/contact/").content.decode()
    assert 'name="company"' in page and 'name="job_title"' in page and 'name="phone"' in page
    assert 'name="email"' not in page and 'name="first_name"' not in page
    assert "ana.known@example.com" not in page and "Anabel" not in page
    # The next answers merge into the known lead although no email was asked this time.
    data = post_data(form, company="Acme", job_title="CTO",
                     known_lead_token=forms_channel.known_token(lead.pk))  # fmt: skip
    response = client.post("/f/contact/", data)
    assert response.status_code == 200
    assert Lead.objects.count() == 1
    lead.refresh_from_db()
    assert (lead.company_name, lead.job_title) == ("Acme", "CTO")


def test_forged_known_visitor_cookie_is_ignored(client: Client) -> None:
    make_form()
    LeadFactory(email="victim@example.com", first_name="Victima")
    client.cookies[forms_channel.KNOWN_COOKIE] = "1"
    page = client.get("/f/contact/").content.decode()
    assert 'name="email"' in page and "victim@example.com" not in page


def test_double_opt_in_sends_email_and_confirmation_sets_confirmed_at(client: Client) -> None:
    form = make_form(double_opt_in=True)
    client.post("/f/contact/", post_data(form, email="ana@example.com", first_name="Ana"),
                HTTP_ACCEPT_LANGUAGE="es")  # fmt: skip
    job = ProcrastinateJob.objects.get(task_name="capture.send_double_opt_in")
    forms_channel.send_double_opt_in(**job.args)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.com"] and "Confirma" in message.subject
    link = next(line for line in message.body.splitlines() if "/f/confirm/" in line).strip()
    path = link[link.index("/f/confirm/") :]
    consent = ConsentRecord.objects.get()
    page = client.get(path)  # a mail scanner following the link confirms nothing
    assert page.status_code == 200 and b'method="post"' in page.content
    consent.refresh_from_db()
    assert consent.confirmed_at is None
    assert client.post(path).status_code == 200
    consent.refresh_from_db()
    assert consent.confirmed_at is not None
    assert client.post("/f/confirm/forged/").status_code == 400


def test_embed_script_and_frame_headers(client: Client) -> None:
    make_form()
    script = client.get("/f/contact/embed.js")
    assert script["Content-Type"].startswith("text/javascript")
    assert script["Access-Control-Allow-Origin"] == "*"
    assert b"utm_source" in script.content
    frame = client.get("/f/contact/frame/")
    assert "X-Frame-Options" not in frame
    assert "https://www.example.com" in frame["Content-Security-Policy"]
    assert client.get("/f/missing/embed.js").status_code == 404


def test_not_you_shows_the_whole_form_and_forgets_the_visitor(client: Client) -> None:
    """A shared device: the next person must not be taken for the first one (whose lead their answers joined)."""
    form = make_form()
    client.post("/f/contact/", post_data(form, email="ana.known@example.com", first_name="Anabel"))
    page = client.get("/f/contact/").content.decode()
    assert 'name="email"' not in page and "forget=1" in page

    response = client.get("/f/contact/?forget=1")
    page = response.content.decode()
    assert 'name="email"' in page and 'name="known_lead_token"' not in page and "forget=1" not in page
    assert client.cookies[forms_channel.KNOWN_COOKIE].value == ""  # deleted
    client.post("/f/contact/", post_data(form, email="luis@example.com", first_name="Luis", company="Otra"))
    assert sorted(Lead.objects.values_list("email", "company_name")) == [
        ("ana.known@example.com", ""), ("luis@example.com", "Otra")]  # fmt: skip
