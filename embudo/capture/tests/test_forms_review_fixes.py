"""The public form's edges found in review, through HTTP: double opt-in from a real browser, attribution of
direct visits, consent texts in one language, deactivated forms, frame-ancestors and rate limits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.capture import forms_channel, selectors
from embudo.capture.models import ConsentRecord, LeadAttribution, Submission
from embudo.capture.tests.forms_helpers import make_form, post_data
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _hidden_fields(page: str) -> dict[str, str]:
    return {name: value.replace("&amp;", "&") for name, value in HIDDEN.findall(page)}


def _send_pending_confirmations() -> None:
    for job in ProcrastinateJob.objects.filter(task_name="capture.send_double_opt_in", status="todo"):
        forms_channel.send_double_opt_in(**job.args)
        ProcrastinateJob.objects.filter(pk=job.pk).update(status="succeeded")


def _confirmation_path(message: Any) -> str:
    link = next(line for line in message.body.splitlines() if "/f/confirm/" in line).strip()
    return str(link[link.index("/f/confirm/") :])


# --- 1. double opt-in ----------------------------------------------------------------------------


def test_double_opt_in_is_confirmed_from_a_browser_that_enforces_csrf() -> None:
    browser = Client(enforce_csrf_checks=True)
    form = make_form(double_opt_in=True)
    assert browser.post("/f/contact/", post_data(form, email="ana@example.com", first_name="Ana")).status_code == 200
    _send_pending_confirmations()
    path = _confirmation_path(mail.outbox[0])

    page = browser.get(path)
    assert page.status_code == 200 and b'method="post"' in page.content
    response = browser.post(path)

    assert response.status_code == 200
    assert "Thank you, your subscription is confirmed." in response.content.decode()
    assert ConsentRecord.objects.get().confirmed_at is not None


def test_confirmation_email_is_not_sent_again_once_the_lead_confirmed_the_purpose(client: Client) -> None:
    form = make_form(double_opt_in=True)
    client.post("/f/contact/", post_data(form, email="ana@example.com", first_name="Ana"))
    _send_pending_confirmations()
    assert len(mail.outbox) == 1
    assert client.post(_confirmation_path(mail.outbox[0])).status_code == 200

    again = client.post("/f/contact/", post_data(form, email="ana@example.com", first_name="Ana", company="Acme"))
    _send_pending_confirmations()

    assert again.status_code == 200
    assert ConsentRecord.objects.filter(lead_id=Lead.objects.get().pk).count() == 2  # the new consent is recorded
    assert len(mail.outbox) == 1  # but no second confirmation email


def test_confirmation_email_is_sent_again_while_the_lead_has_not_confirmed(client: Client) -> None:
    form = make_form(double_opt_in=True)
    client.post("/f/contact/", post_data(form, email="ana@example.com", first_name="Ana"))
    client.post("/f/contact/", post_data(form, email="ana@example.com", first_name="Ana", company="Acme"))
    _send_pending_confirmations()
    assert len(mail.outbox) == 2


# --- 2. attribution --------------------------------------------------------------------------------


def test_direct_visit_to_the_hosted_page_is_not_a_referral_from_embudo(client: Client) -> None:
    form = make_form()
    page = client.get("/f/contact/").content.decode()  # typed in: no Referer
    hidden = _hidden_fields(page)
    assert "referrer" not in hidden
    data = post_data(form, email="ana@example.com", first_name="Ana") | {
        k: v for k, v in hidden.items() if k in forms_channel.META_FIELDS
    }
    # The browser's Referer of the post is the form page itself.
    client.post("/f/contact/", data, HTTP_REFERER="http://testserver/f/contact/")

    row = LeadAttribution.objects.get(lead_id=Lead.objects.get().pk)
    assert row.first_referrer == "" and row.first_medium != "referral"
    assert "testserver" not in row.first_source


def test_a_link_from_embudo_itself_is_no_referrer_but_an_outside_site_is(client: Client) -> None:
    form = make_form()
    inside = _hidden_fields(client.get("/f/contact/", HTTP_REFERER="http://testserver/capture/forms/").content.decode())
    assert "referrer" not in inside
    outside = _hidden_fields(client.get("/f/contact/", HTTP_REFERER="https://news.example.org/a").content.decode())
    assert outside["referrer"] == "https://news.example.org/a"

    data = post_data(form, email="bea@example.com", first_name="Bea") | {
        k: v for k, v in outside.items() if k in forms_channel.META_FIELDS
    }
    client.post("/f/contact/", data, HTTP_REFERER="http://testserver/f/contact/")

    row = LeadAttribution.objects.get(lead_id=Lead.objects.get().pk)
    assert (row.first_referrer, row.first_source, row.first_medium) == (
        "https://news.example.org/a",
        "news.example.org",
        "referral",
    )


def test_embedded_form_ignores_a_referrer_that_is_its_own_landing_page(client: Client) -> None:
    form = make_form()
    data = post_data(form, email="ana@example.com", first_name="Ana", landing_page="https://www.example.com/contact",
                     referrer="https://www.example.com/contact")  # fmt: skip
    client.post("/f/contact/frame/", data)
    row = LeadAttribution.objects.get(lead_id=Lead.objects.get().pk)
    assert row.first_referrer == "" and row.first_medium != "referral"


# --- 4. texts in one language ------------------------------------------------------------------------


def test_consent_and_thanks_written_only_in_spanish_are_shown_to_english_visitors(client: Client) -> None:
    form = make_form(consent_text_en="", thank_you_en="", consent_required=True)
    page = client.get("/f/contact/?lang=en").content.decode()
    assert 'name="consent"' in page and "Acepto recibir correos comerciales." in page

    response = client.post("/f/contact/?lang=en", post_data(form, email="ana@example.com", first_name="Ana"))

    assert response.status_code == 200 and "¡Muchas gracias!" in response.content.decode()
    consent = ConsentRecord.objects.get()
    assert consent.text == "Acepto recibir correos comerciales." and consent.language == "es"
    assert len(consent.text_hash) == 64


def test_consent_written_only_in_english_is_shown_to_spanish_visitors(client: Client) -> None:
    form = make_form(consent_text_es="", consent_required=True)
    page = client.get("/f/contact/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "I agree to receive marketing emails." in page
    client.post("/f/contact/", post_data(form, email="ana@example.com", first_name="Ana"), HTTP_ACCEPT_LANGUAGE="es")
    consent = ConsentRecord.objects.get()
    assert consent.text == "I agree to receive marketing emails." and consent.text_hash


def test_a_posted_consent_without_any_consent_text_records_nothing(client: Client) -> None:
    form = make_form(consent_text_en="", consent_text_es="")
    assert 'name="consent"' not in client.get("/f/contact/").content.decode()
    response = client.post("/f/contact/", post_data(form, email="ana@example.com", first_name="Ana"))
    assert response.status_code == 200 and Lead.objects.count() == 1
    assert not ConsentRecord.objects.exists()


# --- 5. deactivated form ---------------------------------------------------------------------------


def test_a_post_to_a_deactivated_form_is_kept_quarantined_and_answered_410(client: Client) -> None:
    form = make_form()
    data = post_data(form, email="late@example.com", first_name="Lola")  # the page was rendered while active
    form.active = False
    form.save(update_fields=["active"])

    response = client.post("/f/contact/", data, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 410
    assert "This form is no longer available" in response.content.decode()
    submission = Submission.objects.get()
    assert (submission.status, submission.reason, submission.form_id) == ("quarantined", "inactive_form", form.pk)
    assert submission.payload["raw"]["email"] == "late@example.com"
    assert not Lead.objects.exists()
    report = selectors.reconcile()
    assert report.quarantine_reasons == {"inactive_form": 1} and report.received == 1
    # A double click is stored once; showing the page or its script is not possible any more.
    assert client.post("/f/contact/", data).status_code == 410 and Submission.objects.count() == 1
    assert client.get("/f/contact/").status_code == 404
    assert client.get("/f/contact/embed.js").status_code == 404


def test_a_post_to_a_deactivated_embedded_form_keeps_frame_headers(client: Client) -> None:
    form = make_form(active=False)
    response = client.post("/f/contact/frame/", post_data(form, email="late@example.com", first_name="Lola"))
    assert response.status_code == 410
    assert "X-Frame-Options" not in response
    assert "https://www.example.com" in response["Content-Security-Policy"]
    assert Submission.objects.get().reason == "inactive_form"
    assert client.post("/f/unknown/", {"email": "x@example.com"}).status_code == 404


# --- 7. frame-ancestors ------------------------------------------------------------------------------


def test_a_leading_dot_host_lets_the_bare_domain_and_its_subdomains_frame_the_form(client: Client) -> None:
    make_form(allowed_hosts=".example.com\nwww.other.example")
    policy = client.get("/f/contact/frame/")["Content-Security-Policy"]
    sources = policy.split()
    assert "https://example.com" in sources and "https://*.example.com" in sources
    assert "https://www.other.example" in sources
    assert forms_channel.host_allowed("https://example.com/thanks", [".example.com"])


# --- 8. rate limits ------------------------------------------------------------------------------


def test_bot_posts_and_validation_errors_do_not_use_up_the_form_limit(client: Client) -> None:
    form = make_form(max_per_hour=2, max_per_ip_per_hour=50)
    for n in range(3):  # a bot flood from elsewhere
        client.post("/f/contact/", post_data(form, email=f"bot{n}@example.com", website_url="x"),
                    REMOTE_ADDR=f"198.51.100.{n + 1}")  # fmt: skip
    client.post("/f/contact/", post_data(form, age=0.2, email="fast@example.com"), REMOTE_ADDR="198.51.100.9")
    client.post("/f/contact/", post_data(form, email="typo@", first_name="Ana"), REMOTE_ADDR="203.0.113.7")
    client.post("/f/contact/", post_data(form, email="ana@example.com", first_name=""), REMOTE_ADDR="203.0.113.7")

    first = client.post("/f/contact/", post_data(form, email="ana@example.com", first_name="Ana"),
                        REMOTE_ADDR="203.0.113.7")  # fmt: skip
    second = client.post("/f/contact/", post_data(form, email="bea@example.com", first_name="Bea"),
                         REMOTE_ADDR="203.0.113.8")  # fmt: skip
    third = client.post("/f/contact/", post_data(form, email="cai@example.com", first_name="Cai"),
                        REMOTE_ADDR="203.0.113.9")  # fmt: skip

    assert first.status_code == second.status_code == third.status_code == 200
    humans = Submission.objects.filter(ip__in=["203.0.113.7", "203.0.113.8", "203.0.113.9"]).order_by("id")
    assert [(s.status, s.reason) for s in humans] == [
        ("rejected", "invalid"),
        ("quarantined", "incomplete"),
        ("processed", ""),
        ("processed", ""),
        ("quarantined", "rate_limited"),  # the limit still holds for accepted posts
    ]


def test_per_ip_limit_counts_that_ips_bot_posts_but_not_its_typos(client: Client) -> None:
    form = make_form(max_per_ip_per_hour=2)
    for _ in range(2):  # a visitor corrects the same mistake twice
        response = client.post(
            "/f/contact/", post_data(form, email="ana@", first_name="Ana"), REMOTE_ADDR="203.0.113.7"
        )
        assert response.status_code == 400
    ok = client.post(
        "/f/contact/", post_data(form, email="ana@example.com", first_name="Ana"), REMOTE_ADDR="203.0.113.7"
    )
    assert ok.status_code == 200 and Lead.objects.filter(email="ana@example.com").exists()

    for n in range(2):  # another IP sends bot posts, then a plausible one
        client.post(
            "/f/contact/", post_data(form, email=f"b{n}@example.com", website_url="x"), REMOTE_ADDR="198.51.100.5"
        )
    client.post("/f/contact/", post_data(form, email="b@example.com", first_name="Bob"), REMOTE_ADDR="198.51.100.5")
    assert Submission.objects.filter(ip="198.51.100.5").order_by("-id").values_list("reason", flat=True)[0] == (
        "rate_limited"
    )
    assert not Lead.objects.filter(email="b@example.com").exists()


def test_a_form_without_a_default_region_reads_local_phones_in_its_teams_country(client: Client) -> None:
    from embudo.accounts.tests.factories import TeamFactory

    form = make_form(default_region="", team=TeamFactory.create(default_country="MX"))
    response = client.post("/f/contact/", post_data(form, email="mx@example.com", first_name="Lupe",
                                                    phone="55 1234 5678"))  # fmt: skip
    assert response.status_code == 200, response.content.decode()[:500]
    assert Lead.objects.get().phone == "+525512345678"
