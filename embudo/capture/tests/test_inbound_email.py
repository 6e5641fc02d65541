"""Inbound email through anymail's real Postmark inbound webhook (basic auth, Postmark's JSON format)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.capture import inbound_email, services
from embudo.capture.models import Submission
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db

URL = "/hooks/anymail/postmark/inbound/"
AUTH = "Basic " + base64.b64encode(b"user:pass").decode()


@pytest.fixture(autouse=True)
def _urls_anymail_and_receiver(settings: Any) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:pass"}
    inbound_email.connect()  # what CaptureConfig.ready() does


def postmark_inbound(
    *,
    message_id: str = "<CAF=abc123@mail.gmail.com>",
    subject: str = "Presupuesto para 20 sillas",
    text: str = "Hola, necesitamos 20 sillas para la oficina de Sevilla. ¿Precio? 🙏",
    from_name: str = "Lucía Fernández",
    from_email: str = "Lucia.Fernandez@Ejemplo.ES",
) -> dict[str, Any]:
    return {
        "FromName": from_name,
        "MessageStream": "inbound",
        "From": from_email,
        "FromFull": {"Email": from_email, "Name": from_name, "MailboxHash": ""},
        "To": "ventas@embudo.example",
        "ToFull": [{"Email": "ventas@embudo.example", "Name": "Ventas", "MailboxHash": ""}],
        "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [],
        "OriginalRecipient": "ventas@embudo.example",
        "Subject": subject,
        "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": "Fri, 20 Nov 2026 12:00:00 +0100",
        "TextBody": text,
        "HtmlBody": f"<p>{text}</p>",
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": [
            {"Name": "Return-Path", "Value": f"<{from_email}>"},
            {"Name": "X-Spam-Status", "Value": "No"},
            {"Name": "Message-ID", "Value": message_id},
        ],
        "Attachments": [],
    }  # fmt: skip


def post(client: Client, payload: dict[str, Any], *, auth: str | None = AUTH) -> Any:
    extra = {"Authorization": auth} if auth else {}
    return client.post(
        URL, data=json.dumps(payload, ensure_ascii=False).encode(), content_type="application/json", headers=extra
    )


def test_inbound_email_is_stored_and_processing_deferred(client: Client) -> None:
    response = post(client, postmark_inbound())

    assert response.status_code == 200
    submission = Submission.objects.get()
    assert submission.channel == "email"
    assert submission.external_id == "<CAF=abc123@mail.gmail.com>"
    assert submission.payload["from_email"] == "Lucia.Fernandez@Ejemplo.ES"
    assert submission.payload["from_name"] == "Lucía Fernández"
    assert submission.payload["subject"] == "Presupuesto para 20 sillas"
    assert submission.payload["to"] == ["ventas@embudo.example"]
    assert submission.status == "pending"
    jobs = ProcrastinateJob.objects.filter(task_name="capture.process_submission")
    assert [job.args for job in jobs] == [{"submission_id": submission.pk}]


def test_processing_creates_the_lead_and_puts_the_email_on_the_timeline(client: Client, django_user_model: Any) -> None:
    post(client, postmark_inbound())

    result = services.process_submission(Submission.objects.get().pk)

    assert result.lead_id is not None
    lead = Lead.objects.get(pk=result.lead_id)
    assert lead.email == "lucia.fernandez@ejemplo.es"
    assert (lead.first_name, lead.last_name) == ("Lucía", "Fernández")
    event = DomainEvent.objects.get(lead_id=lead.pk, type="capture.LeadCaptured")
    assert event.payload["summary"]["message"].startswith("Presupuesto para 20 sillas\n\nHola, necesitamos")
    client.force_login(django_user_model.objects.create_user(email="a@example.com", password="pw", role="admin"))
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Email received: Presupuesto para 20 sillas" in page
    assert "oficina de Sevilla" in page


def test_a_second_email_from_the_same_sender_merges(client: Client) -> None:
    post(client, postmark_inbound(message_id="<one@x>"))
    post(client, postmark_inbound(message_id="<two@x>", subject="Re: Presupuesto"))
    for submission in Submission.objects.order_by("id"):
        services.process_submission(submission.pk)

    assert Lead.objects.count() == 1
    assert list(Submission.objects.order_by("id").values_list("outcome", flat=True)) == ["created", "merged"]


def test_replaying_the_same_message_creates_nothing_extra(client: Client) -> None:
    for _ in range(3):
        assert post(client, postmark_inbound()).status_code == 200

    assert Submission.objects.count() == 1
    assert ProcrastinateJob.objects.filter(task_name="capture.process_submission").count() == 1


def test_without_the_webhook_secret_nothing_is_stored(client: Client) -> None:
    bad = "Basic " + base64.b64encode(b"user:wrong").decode()
    assert post(client, postmark_inbound(), auth=bad).status_code == 400
    assert post(client, postmark_inbound(), auth=None).status_code == 400
    assert not Submission.objects.exists()


def test_message_without_message_id_falls_back_to_the_esp_id(client: Client) -> None:
    payload = postmark_inbound()
    payload["Headers"] = [h for h in payload["Headers"] if h["Name"] != "Message-ID"]
    post(client, payload)
    post(client, payload)
    assert list(Submission.objects.values_list("external_id", flat=True)) == ["73e6d360-66eb-11e1-8e72-a8904824019b"]


def test_email_mapper_names_and_message() -> None:
    lead_input = inbound_email.map_email(
        {"from_email": "ana@example.com", "from_name": "García López, Ana", "subject": "Hola", "text": "Texto"}
    )
    assert lead_input.fields == {"email": "ana@example.com", "first_name": "Ana", "last_name": "García López"}
    assert lead_input.message == "Hola\n\nTexto"
    assert inbound_email.map_email({"from_email": "x@y.com", "from_name": "x@y.com"}).fields == {"email": "x@y.com"}
