"""Channels whose sender never sees an error (Web-to-Lead, WhatsApp, email): a value that does not normalize is
left out of the lead and listed on the submission, instead of losing a lead whose other details are fine."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from embudo.capture import services
from embudo.capture.models import Submission
from embudo.capture.tests.test_whatsapp import SECRET, TOKEN, delivery, post, raw
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


def test_web_to_lead_keeps_the_lead_when_a_secondary_field_is_bad(client: Client) -> None:
    response = client.post("/w2l/", {"first_name": "Ana 😊", "last_name": "Ruiz", "email": "ana@empresa.es",
                                     "phone": "n/a", "country": "Europa", "city": "Sevilla"})  # fmt: skip

    assert response.status_code == 200
    lead = Lead.objects.get()
    assert (lead.email, lead.last_name, lead.city, lead.phone, lead.country) == (
        "ana@empresa.es",
        "Ruiz",
        "Sevilla",
        "",
        "",
    )
    submission = Submission.objects.get()
    assert (submission.status, submission.outcome) == ("processed", "created")
    assert set(submission.errors) == {"first_name", "phone", "country"}
    assert submission.payload["first_name"] == "Ana 😊"  # the raw value is kept


def test_web_to_lead_with_nothing_usable_is_rejected_with_the_reasons(client: Client) -> None:
    client.post("/w2l/", {"first_name": "😊", "email": "not an email", "company": "Acme"})

    submission = Submission.objects.get()
    assert (submission.status, submission.reason) == ("rejected", "invalid")
    assert {"first_name", "email"} <= set(submission.errors)
    assert not Lead.objects.exists()


def test_whatsapp_profile_name_that_is_no_name_still_makes_the_lead(client: Client, settings: Any) -> None:
    settings.WHATSAPP_VERIFY_TOKEN, settings.WHATSAPP_APP_SECRET = TOKEN, SECRET
    post(client, raw(delivery(name="Lucía" * 60)))  # 300 letters: longer than a name may be

    result = services.process_submission(Submission.objects.get().pk)

    assert result.created
    lead = Lead.objects.get()
    assert (lead.phone, lead.first_name) == ("+34600123456", "")
    assert "first_name" in Submission.objects.get().errors


def test_the_api_still_rejects_so_the_client_can_correct(client: Client) -> None:
    from embudo.capture.tests.test_nul_characters import api_client

    response = api_client().post("/api/v1/leads", {"email": "ana@empresa.es", "phone": "n/a"},
                                 content_type="application/json")  # fmt: skip
    assert response.status_code == 422 and "phone" in response.json()["fields"]
    assert not Lead.objects.exists()
