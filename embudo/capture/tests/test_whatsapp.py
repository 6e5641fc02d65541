"""The WhatsApp webhook through its real entry point: raw bytes signed with a real HMAC."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from procrastinate.contrib.django import app as procrastinate_app
from procrastinate.contrib.django.models import ProcrastinateJob

from embudo.capture import services, whatsapp
from embudo.capture.models import Submission, WhatsAppChannel
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db

URL = "/hooks/whatsapp/"
SECRET = "test-app-secret"
TOKEN = "test-verify-token"


@pytest.fixture(autouse=True)
def _urls_and_secrets(settings: Any) -> None:
    settings.WHATSAPP_VERIFY_TOKEN = TOKEN
    settings.WHATSAPP_APP_SECRET = SECRET


def delivery(*, wamid: str = "wamid.HBgLMzQ2MDAxMjM0NTY3FQIAEhgg", text: str = "Hola, ¿me llamáis? 😊",
             name: str = "María José García López", wa_id: str = "34600123456",
             phone_number_id: str = "1234567890") -> dict[str, Any]:  # fmt: skip
    return {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "34910000000", "phone_number_id": phone_number_id},
                    "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                    "messages": [{"from": wa_id, "id": wamid, "timestamp": "1763740000", "type": "text",
                                  "text": {"body": text}}],
                },
            }],
        }],
    }  # fmt: skip


def raw(payload: dict[str, Any]) -> bytes:
    # As Meta sends it: compact JSON with non-ASCII escaped (\u00e1, surrogate pairs for emoji).
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(client: Client, body: bytes, signature: str | None = None) -> Any:
    headers = {"X-Hub-Signature-256": signature if signature is not None else sign(body)}
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def test_handshake_echoes_challenge_for_our_token(client: Client) -> None:
    response = client.get(URL, {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"})
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


def test_handshake_accepts_a_channel_token_from_the_ui(client: Client) -> None:
    WhatsAppChannel.objects.create(name="Ventas", phone_number_id="555", verify_token="ui-token", app_secret="s")
    response = client.get(URL, {"hub.mode": "subscribe", "hub.verify_token": "ui-token", "hub.challenge": "42"})
    assert response.status_code == 200
    assert response.content == b"42"


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": TOKEN, "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.challenge": "1"},
])  # fmt: skip
def test_handshake_forbidden_otherwise(client: Client, params: dict[str, str]) -> None:
    assert client.get(URL, params).status_code == 403


def test_signed_message_is_stored_and_processing_deferred(client: Client) -> None:
    body = raw(delivery())
    response = post(client, body)

    assert response.status_code == 200
    submission = Submission.objects.get()
    assert submission.channel == "whatsapp"
    assert submission.external_id == "wamid.HBgLMzQ2MDAxMjM0NTY3FQIAEhgg"
    assert submission.status == "pending"  # acknowledged before processing
    assert submission.payload["message"]["text"]["body"] == "Hola, ¿me llamáis? 😊"
    jobs = ProcrastinateJob.objects.filter(task_name="capture.process_submission")
    assert [job.args for job in jobs] == [{"submission_id": submission.pk}]
    assert not Lead.objects.exists()


def test_processing_the_job_creates_the_lead_with_the_message_on_the_timeline(client: Client) -> None:
    post(client, raw(delivery()))
    submission = Submission.objects.get()

    result = services.process_submission(submission.pk)

    assert result.created
    assert result.lead_id is not None
    lead = Lead.objects.get(pk=result.lead_id)
    assert lead.phone == "+34600123456"
    assert (lead.first_name, lead.last_name) == ("María José", "García López")
    event = DomainEvent.objects.get(lead_id=lead.pk, type="capture.LeadCaptured")
    assert event.payload["summary"]["message"] == "Hola, ¿me llamáis? 😊"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_processes_the_deferred_job(client: Client, empty_job_queue: None) -> None:
    assert post(client, raw(delivery())).status_code == 200
    connection.close()

    with procrastinate_app.replace_connector(procrastinate_app.connector.get_worker_connector()) as worker_app:  # type: ignore[attr-defined]
        worker_app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)

    submission = Submission.objects.get()
    assert (submission.status, submission.outcome) == ("processed", "created")
    assert submission.lead_id is not None
    assert Lead.objects.get(pk=submission.lead_id).phone == "+34600123456"
    jobs = ProcrastinateJob.objects.filter(task_name="capture.process_submission")
    assert set(jobs.values_list("status", flat=True)) == {"succeeded"}


def test_timeline_shows_the_whatsapp_message(client: Client, django_user_model: Any) -> None:
    post(client, raw(delivery(text="Quiero <b>precio</b> 🚀")))
    lead_id = services.process_submission(Submission.objects.get().pk).lead_id
    admin = django_user_model.objects.create_user(email="admin@example.com", password="pw", role="admin")
    client.force_login(admin)

    page = client.get(f"/leads/{lead_id}/").content.decode()

    assert "Captured via WhatsApp: «Quiero &lt;b&gt;precio&lt;/b&gt; 🚀»" in page


def test_a_second_message_from_the_same_number_merges_into_the_lead(client: Client) -> None:
    post(client, raw(delivery(wamid="wamid.one")))
    post(client, raw(delivery(wamid="wamid.two", text="¿Seguís ahí?")))
    first, second = Submission.objects.order_by("id")

    services.process_submission(first.pk)
    result = services.process_submission(second.pk)

    assert result.outcome == "merged"
    assert Lead.objects.count() == 1


def test_bad_signature_is_rejected_and_nothing_stored(client: Client) -> None:
    body = raw(delivery())
    assert post(client, body, signature=sign(body, "another-secret")).status_code == 403
    assert post(client, body, signature="").status_code == 403
    good = sign(body)
    assert post(client, body, signature=good[:-1] + ("1" if good[-1] == "0" else "0")).status_code == 403
    assert post(client, body, signature=good.removeprefix("sha256=")).status_code == 403
    tampered = body.replace(b"Hola", b"Hola!")
    assert post(client, tampered, signature=sign(body)).status_code == 403
    assert not Submission.objects.exists()
    assert not ProcrastinateJob.objects.exists()


def test_replaying_the_same_delivery_creates_nothing_extra(client: Client) -> None:
    body = raw(delivery())
    for _ in range(3):
        assert post(client, body).status_code == 200

    assert Submission.objects.count() == 1
    assert ProcrastinateJob.objects.filter(task_name="capture.process_submission").count() == 1
    services.process_submission(Submission.objects.get().pk)
    post(client, body)
    assert Lead.objects.count() == 1
    assert Submission.objects.count() == 1


@pytest.mark.parametrize("text", ["Añoranza, señor Ibáñez: ¿cuánto cuesta? ¡Gracias!", "👍🏽🇪🇸 ok", "ñ" * 3000])
def test_spanish_and_emoji_bodies_verify_over_raw_bytes(client: Client, text: str) -> None:
    for body in (raw(delivery(text=text)), json.dumps(delivery(text=text), ensure_ascii=False).encode()):
        Submission.objects.all().delete()
        assert post(client, body).status_code == 200
        assert Submission.objects.get().payload["message"]["text"]["body"] == text


def test_status_only_delivery_is_acknowledged_and_ignored(client: Client) -> None:
    payload = delivery()
    value = payload["entry"][0]["changes"][0]["value"]
    del value["messages"], value["contacts"]
    value["statuses"] = [{"id": "wamid.out", "status": "delivered", "timestamp": "1763740001",
                          "recipient_id": "34600123456"}]  # fmt: skip

    assert post(client, raw(payload)).status_code == 200
    assert not Submission.objects.exists()


def test_channel_secret_verifies_its_own_number(client: Client, settings: Any) -> None:
    settings.WHATSAPP_APP_SECRET = ""
    WhatsAppChannel.objects.create(name="México", phone_number_id="777", verify_token="t", app_secret="mx-secret",
                                   default_region="MX")  # fmt: skip
    body = raw(delivery(phone_number_id="777", wa_id="5215512345678"))

    assert post(client, body, signature=sign(body, "mx-secret")).status_code == 200
    assert post(client, raw(delivery(phone_number_id="888")), signature=sign(body, "mx-secret")).status_code == 403
    result = services.process_submission(Submission.objects.get().pk)
    assert result.lead_id is not None
    assert Lead.objects.get(pk=result.lead_id).phone == "+525512345678"


def test_profile_name_splitting() -> None:
    assert whatsapp.split_profile_name("Ana") == ("Ana", "")
    assert whatsapp.split_profile_name("Ana García") == ("Ana", "García")
    assert whatsapp.split_profile_name("Ana García López") == ("Ana", "García López")
    assert whatsapp.split_profile_name("Juan de la Cruz") == ("Juan", "de la Cruz")
    assert whatsapp.split_profile_name("🌸 Lucía 🌸") == ("Lucía", "")
    assert whatsapp.split_profile_name("😀") == ("", "")


def test_emoji_only_profile_name_still_captures_the_number(client: Client) -> None:
    post(client, raw(delivery(name="🔥🔥")))
    result = services.process_submission(Submission.objects.get().pk)
    assert result.created
    assert Lead.objects.get().phone == "+34600123456"
