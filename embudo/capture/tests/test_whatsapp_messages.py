"""WhatsApp deliveries as Meta sends them beyond plain text: several senders, ads, locations, reactions, flows."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.test import Client

from embudo.capture import services, whatsapp
from embudo.capture.models import LeadAttribution, Submission
from embudo.capture.tests.test_whatsapp import SECRET, TOKEN, delivery, post, raw
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secrets(settings: Any) -> None:
    settings.WHATSAPP_VERIFY_TOKEN, settings.WHATSAPP_APP_SECRET = TOKEN, SECRET


def process_all() -> None:
    for submission in Submission.objects.order_by("id"):
        services.process_submission(submission.pk)


def test_a_second_sender_without_a_contact_entry_is_not_the_first_person(client: Client) -> None:
    body = delivery(name="Ana Ruiz", wa_id="34600111222")
    value = body["entry"][0]["changes"][0]["value"]
    second = copy.deepcopy(value["messages"][0])
    second.update({"from": "34600999888", "id": "wamid.second", "text": {"body": "Soy otra persona"}})
    value["messages"].append(second)

    post(client, raw(body))
    process_all()

    leads = {lead.phone: lead for lead in Lead.objects.all()}
    assert set(leads) == {"+34600111222", "+34600999888"}
    assert leads["+34600111222"].first_name == "Ana"
    assert leads["+34600999888"].first_name == ""  # no profile of its own: not Ana's name


def test_a_click_to_whatsapp_ad_attributes_the_lead(client: Client) -> None:
    body = delivery()
    body["entry"][0]["changes"][0]["value"]["messages"][0]["referral"] = {
        "source_url": "https://fb.me/3cr4Wqqkv", "source_id": "120208000000", "source_type": "ad",
        "headline": "Demo gratis", "body": "Pide tu demo", "ctwa_clid": "ARAkLkA8r",
    }  # fmt: skip
    post(client, raw(body))
    process_all()

    touch = LeadAttribution.objects.get()
    assert (touch.first_source, touch.first_medium, touch.first_campaign, touch.first_content) == (
        "meta",
        "paid_social",
        "Demo gratis",
        "120208000000",
    )
    assert touch.first_referrer == "https://fb.me/3cr4Wqqkv"


@pytest.mark.parametrize(("kind", "part", "expected"), [
    ("location", {"latitude": 40.4, "longitude": -3.7, "name": "Oficina", "address": "Gran Vía 1"},
     "[location] Oficina, Gran Vía 1"),
    ("location", {"latitude": 40.4, "longitude": -3.7}, "[location] 40.4, -3.7"),
    ("reaction", {"message_id": "wamid.x", "emoji": "👍"}, "[reaction] 👍"),
    ("interactive", {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Enviado",
                                                         "response_json": "{}"}}, "Enviado"),
    ("system", {"body": "Ana cambió su número", "type": "user_changed_number"}, "Ana cambió su número"),
])  # fmt: skip
def test_message_types_reach_the_timeline_as_text(kind: str, part: dict[str, Any], expected: str) -> None:
    assert whatsapp.message_text({"type": kind, kind: part}) == expected


def test_shared_contacts_show_their_names(client: Client) -> None:
    body = delivery()
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message.pop("text")
    message.update({"type": "contacts", "contacts": [{"name": {"formatted_name": "Luis Pérez"}, "phones": []}]})
    post(client, raw(body))
    process_all()

    event = DomainEvent.objects.get(type="capture.LeadCaptured")
    assert event.payload["summary"]["message"] == "[contacts] Luis Pérez"
