"""Inbound email channel through django-anymail's inbound webhooks (any supported ESP).

Anymail's per-ESP views (``/hooks/anymail/<esp>/inbound/``) verify the request (basic auth
``WEBHOOK_SECRET``, plus the ESP's own signature where it has one), normalize the message and announce it
with its ``anymail.signals.inbound`` signal. That signal is the library's only extension point, so this
module connects ONE receiver to it despite our "no Django signals" rule: it is the boundary with a
third-party library, not business logic. The receiver does what every channel does: store the raw
submission (deduplicated on the Message-ID) and defer its processing, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import getaddresses, parseaddr
from typing import Any

from anymail.signals import AnymailInboundEvent, inbound  # type: ignore[import-untyped]
from django.db import transaction
from procrastinate.contrib.django import app as procrastinate_app

from embudo.capture import mapping, services, whatsapp
from embudo.capture.models import Channel

MAX_TEXT_LENGTH = 10_000
RECEIVER_UID = "embudo.capture.inbound_email.receive_inbound_email"


def payload_from(event: AnymailInboundEvent) -> tuple[dict[str, Any], str]:
    """The stored payload of an inbound email and its external id (Message-ID, else the ESP's id)."""
    message = event.message
    if message is None:
        return {}, str(event.event_id or "")
    name, address = parseaddr(str(message.get("From", "") or ""))
    if not address and message.envelope_sender:
        address = str(message.envelope_sender)
    text = message.text or message.stripped_text or ""
    payload = {
        "from_email": address,
        "from_name": name,
        "subject": str(message.get("Subject", "") or "")[:500],
        "text": str(text)[:MAX_TEXT_LENGTH],
        "to": [addr for _name, addr in getaddresses([str(v) for v in message.get_all("To", [])]) if addr],
        "date": str(message.get("Date", "") or ""),
        "esp_event_id": str(event.event_id or ""),
        "spam_detected": bool(message.spam_detected),
    }
    message_id = str(message.get("Message-ID", "") or "").strip() or str(event.event_id or "")
    return payload, message_id[:300]


def receive_inbound_email(sender: Any, event: AnymailInboundEvent, esp_name: str, **kwargs: Any) -> None:
    """Anymail receiver: store the email as a submission (once per Message-ID) and defer processing."""
    payload, external_id = payload_from(event)
    payload["esp"] = esp_name
    with transaction.atomic():
        submission, is_new = services.receive_submission(
            channel=Channel.EMAIL.value,
            payload=payload,
            meta=services.SubmissionMeta(headers={"esp": esp_name}),
            context=services.ProcessingContext(),
            external_id=external_id,
        )
        if is_new:
            procrastinate_app.configure_task("capture.process_submission").defer(submission_id=submission.pk)


def connect() -> None:
    """Connect the receiver once (idempotent thanks to ``dispatch_uid``); called from CaptureConfig.ready()."""
    inbound.connect(receive_inbound_email, dispatch_uid=RECEIVER_UID, weak=False)


def split_sender_name(name: str) -> tuple[str, str]:
    """ "Ana García López" → ("Ana", "García López"); "García, Ana" → ("Ana", "García")."""
    name = " ".join(name.replace('"', " ").split())
    if "," in name:
        last, _sep, first = name.partition(",")
        return whatsapp.split_profile_name(first)[0], " ".join(whatsapp.split_profile_name(last))
    return whatsapp.split_profile_name(name)


@mapping.register(Channel.EMAIL.value)
def map_email(payload: Mapping[str, Any]) -> mapping.LeadInput:
    """Sender → email and names (symbols dropped); subject (first line) and text → message."""
    first, last = split_sender_name(str(payload.get("from_name", "")))
    if "@" in first:  # some clients repeat the address as the display name
        first, last = "", ""
    fields: dict[str, object] = {k: v for k, v in (("email", str(payload.get("from_email", ""))),
                                                   ("first_name", first), ("last_name", last)) if v}  # fmt: skip
    subject = str(payload.get("subject", "")).strip()
    text = str(payload.get("text", "")).strip()
    message = "\n\n".join(part for part in (subject, text) if part)
    return mapping.LeadInput(fields=fields, message=message[:2000])
