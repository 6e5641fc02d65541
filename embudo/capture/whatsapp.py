"""WhatsApp Business Cloud API channel: the webhook at ``/hooks/whatsapp/`` and the ``whatsapp`` mapper.

Meta signs the raw request body (``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>``)
without a timestamp, so there is no replay window: replays are absorbed by the unique
``(channel, external_id)`` constraint on the message id (``wamid…``). The signature is computed over
the bytes received, never over re-serialised JSON (Meta escapes non-ASCII, so Spanish text and emoji
would not match). The POST handler only verifies, stores and defers: processing never delays the 200.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from procrastinate.contrib.django import app as procrastinate_app

from embudo.capture import mapping, selectors_ops, services
from embudo.capture.models import Channel, WhatsAppChannel

SIGNATURE_HEADER = "HTTP_X_HUB_SIGNATURE_256"
SIGNATURE_PREFIX = "sha256="
MAX_MESSAGE_LENGTH = 4000
_KEPT = frozenset({"user-agent", "content-type", "x-forwarded-for"})
# Lower-case words that start a surname ("Juan de la Cruz").
_SURNAME_PARTICLES = frozenset({"de", "del", "la", "las", "los", "da", "do", "dos", "das", "di", "van", "von"})
_SYMBOL_CATEGORIES = frozenset({"So", "Sk", "Sm", "Cs", "Co", "Cn", "Cf"})


# --- configuration ------------------------------------------------------------------------------


def default_verify_token() -> str:
    return str(getattr(settings, "WHATSAPP_VERIFY_TOKEN", "") or os.environ.get("WHATSAPP_VERIFY_TOKEN", ""))


def default_app_secret() -> str:
    return str(getattr(settings, "WHATSAPP_APP_SECRET", "") or os.environ.get("WHATSAPP_APP_SECRET", ""))


# --- pure helpers -------------------------------------------------------------------------------


def signature_for(secret: str, body: bytes) -> str:
    """The header value Meta sends for ``body`` signed with ``secret``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(header: str, body: bytes, secrets: Iterable[str]) -> bool:
    """Whether ``header`` is a valid signature of the raw ``body`` under one of ``secrets``.

    Every candidate is compared in constant time (no early exit on the first byte that differs).
    """
    if not header.startswith(SIGNATURE_PREFIX):
        return False
    given = header.strip().encode("ascii", "replace")
    matched = False
    for secret in secrets:
        if secret and hmac.compare_digest(given, signature_for(secret, body).encode()):
            matched = True
    return matched


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class InboundMessage:
    """One message of a webhook delivery, with the parts of the delivery needed to process it."""

    message_id: str
    phone_number_id: str
    payload: dict[str, Any]


def phone_number_ids(data: Any) -> set[str]:
    """The business numbers a delivery is addressed to (to pick the channel and its secret)."""
    return {str(value.get("metadata", {}).get("phone_number_id", "")) for value in _values(data)} - {""}


def inbound_messages(data: Any) -> list[InboundMessage]:
    """Messages of a delivery (``entry[].changes[].value.messages[]``); status updates are ignored."""
    found: list[InboundMessage] = []
    for value in _values(data):
        metadata = _dict(value.get("metadata"))
        contacts = {str(c.get("wa_id", "")): c for c in value.get("contacts") or [] if isinstance(c, dict)}
        messages = [m for m in value.get("messages") or [] if isinstance(m, dict) and m.get("id")]
        senders = {str(m.get("from", "")) for m in messages}
        # A sender without a contact entry of its own takes the only contact only when that cannot be someone
        # else's (one contact, one sender): a second sender's message must not land on the first person.
        only = next(iter(contacts.values())) if len(contacts) == 1 and len(senders) == 1 else {}
        for message in messages:
            sender = str(message.get("from", ""))
            contact = contacts.get(sender) or only
            found.append(
                InboundMessage(
                    message_id=str(message["id"])[:300],
                    phone_number_id=str(metadata.get("phone_number_id", "")),
                    payload={"metadata": metadata, "contact": contact, "message": message},
                )
            )
    return found


def _values(data: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(data, dict):
        return
    for entry in data.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        for change in entry.get("changes") or []:
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                yield change["value"]


def split_profile_name(name: str) -> tuple[str, str]:
    """A WhatsApp profile name as (first, last): symbols and emoji dropped, Spanish double surnames kept.

    "Ana" → ("Ana", ""); "Ana García" → ("Ana", "García"); "Ana García López" → ("Ana", "García López");
    "María José García López" → ("María José", "García López"); "Juan de la Cruz" → ("Juan", "de la Cruz").
    """
    cleaned = "".join(" " if unicodedata.category(ch) in _SYMBOL_CATEGORIES else ch for ch in name)
    words = [w for w in cleaned.split() if any(unicodedata.category(ch).startswith("L") for ch in w)]
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], ""
    particle = next((i for i, w in enumerate(words) if i > 0 and w.lower() in _SURNAME_PARTICLES), None)
    cut = particle if particle is not None else (1 if len(words) <= 3 else 2)
    return " ".join(words[:cut]), " ".join(words[cut:])


def message_text(message: Mapping[str, Any]) -> str:
    """The readable text of a message of any type (text, button reply, caption…)."""
    kind = str(message.get("type", ""))
    part = _dict(message.get(kind))
    text = ""
    if kind == "text":
        text = str(part.get("body", ""))
    elif kind == "button":
        text = str(part.get("text", ""))
    elif kind == "interactive":
        reply = _dict(part.get("button_reply") or part.get("list_reply"))
        flow = _dict(part.get("nfm_reply"))  # a WhatsApp Flow's answers
        text = str(reply.get("title", "") or flow.get("body", "") or flow.get("response_json", ""))
    elif kind == "location":
        place = ", ".join(str(part[k]) for k in ("name", "address") if part.get(k))
        where = f"{part.get('latitude')}, {part.get('longitude')}" if "latitude" in part else ""
        text = f"[location] {place or where}".strip() if place or where else ""
    elif kind == "reaction":
        text = f"[reaction] {part.get('emoji', '')}".strip()
    elif kind == "contacts":
        shared = message.get("contacts")
        names = [str(_dict(_dict(c).get("name")).get("formatted_name", "")) for c in shared or []]
        text = "[contacts] " + ", ".join(n for n in names if n) if any(names) else ""
    elif kind == "system":
        text = str(part.get("body", ""))
    elif part.get("caption"):
        text = str(part["caption"])
    if not text and kind:
        text = f"[{kind}]"
    return text[:MAX_MESSAGE_LENGTH]


@mapping.register(Channel.WHATSAPP.value)
def map_whatsapp(payload: Mapping[str, Any]) -> mapping.LeadInput:
    """wa_id → WhatsApp id (and phone, E.164); profile name → first/last name; text → message."""
    contact = _dict(payload.get("contact"))
    message = _dict(payload.get("message"))
    wa_id = str(message.get("from") or contact.get("wa_id") or "")  # the sender is who wrote the message
    profile = _dict(contact.get("profile"))
    first, last = split_profile_name(str(profile.get("name", "")))
    fields: dict[str, object] = {k: v for k, v in (("whatsapp_id", wa_id), ("first_name", first),
                                                   ("last_name", last)) if v}  # fmt: skip
    return mapping.LeadInput(fields=fields, message=message_text(message))


# --- webhook ------------------------------------------------------------------------------------


def _kept_headers(request: HttpRequest) -> dict[str, str]:
    return {k.lower(): v[:500] for k, v in request.headers.items() if k.lower() in _KEPT}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _handshake(request)
    return _receive(request)


def _handshake(request: HttpRequest) -> HttpResponse:
    """Meta's subscription check: echo ``hub.challenge`` when the verify token is one of ours."""
    token = request.GET.get("hub.verify_token", "")
    if request.GET.get("hub.mode") != "subscribe" or not token:
        return HttpResponseForbidden("forbidden", content_type="text/plain")
    candidates = [default_verify_token(), *selectors_ops.list_active_verify_tokens()]
    matched = False
    for candidate in candidates:
        if candidate and hmac.compare_digest(candidate.encode(), token.encode()):
            matched = True
    if not matched:
        return HttpResponseForbidden("forbidden", content_type="text/plain")
    return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")


def _receive(request: HttpRequest) -> HttpResponse:
    body = request.body  # the raw bytes, as signed
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    channels = selectors_ops.find_whatsapp_channels(phone_number_ids(data))
    secrets = [default_app_secret(), *(c.app_secret for c in channels)]
    if not signature_matches(request.META.get(SIGNATURE_HEADER, ""), body, secrets):
        return HttpResponseForbidden("invalid signature", content_type="text/plain")
    if not isinstance(data, dict):
        return HttpResponseBadRequest("invalid JSON", content_type="text/plain")
    by_number = {c.phone_number_id: c for c in channels}
    meta = services.SubmissionMeta(
        ip=request.META.get("REMOTE_ADDR"),
        user_agent=request.headers.get("user-agent", ""),
        headers=_kept_headers(request),
    )
    receive_messages(inbound_messages(data), meta=meta, channels=by_number)
    return HttpResponse("ok", content_type="text/plain")


def receive_messages(
    messages: list[InboundMessage], *, meta: services.SubmissionMeta, channels: Mapping[str, Any]
) -> int:
    """Store each new message as a submission and defer its processing, in one transaction.

    Returns how many were new; a message id seen before stores nothing and defers nothing.
    """
    new = 0
    with transaction.atomic():
        for inbound in messages:
            channel = channels.get(inbound.phone_number_id)
            context = services.ProcessingContext(
                default_region=getattr(channel, "default_region", "") or "",
                team_id=getattr(channel, "team_id", None),
            )
            submission, is_new = services.receive_submission(
                channel=Channel.WHATSAPP.value,
                payload=inbound.payload,
                meta=meta,
                context=context,
                external_id=inbound.message_id,
            )
            if is_new:
                new += 1
                procrastinate_app.configure_task("capture.process_submission").defer(submission_id=submission.pk)
    return new


# --- channels (writes) --------------------------------------------------------------------------

CHANNEL_FIELDS = ("name", "phone_number_id", "display_phone", "verify_token", "app_secret", "default_region", "active")


def save_whatsapp_channel(*, channel_id: int | None, data: Mapping[str, Any], team_id: int | None) -> WhatsAppChannel:
    """Create or update a WhatsApp channel. An empty ``app_secret`` on update keeps the stored one."""
    values = {k: data[k] for k in CHANNEL_FIELDS if k in data}
    values["default_region"] = str(values.get("default_region", "")).upper()
    with transaction.atomic():
        if channel_id is None:
            return WhatsAppChannel.objects.create(team_id=team_id, **values)
        channel = WhatsAppChannel.objects.select_for_update().get(pk=channel_id)
        if not values.get("app_secret"):
            values.pop("app_secret", None)
        for key, value in values.items():
            setattr(channel, key, value)
        channel.team_id = team_id
        channel.save()
        return channel
