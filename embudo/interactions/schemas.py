"""Schemas of the interactions JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class ActorOut(Schema):
    id: int
    email: str
    full_name: str


class InteractionOut(Schema):
    id: int
    lead_id: int
    kind: str
    direction: str
    outcome: str
    duration_seconds: int | None
    subject: str
    body: str = Field(description="The call or meeting notes, the email body or the WhatsApp message.")
    occurred_at: datetime
    created_at: datetime
    actor: ActorOut | None
    to_address: str = Field(description="Email address or E.164 phone the message went to.")
    message_id: str
    delivery_status: str = Field(description='Emails sent through Embudo: "queued", "sending", "sent" or "failed".')
    delivery_error: str
    sent_at: datetime | None


class InteractionPageOut(Schema):
    items: list[InteractionOut]
    next_cursor: str | None


class InteractionIn(Schema):
    """One interaction. Which fields apply depends on ``kind``:

    - call: ``outcome`` (connected, no_answer, voicemail, busy, wrong_number), ``direction``,
      ``duration_seconds``, ``notes``, ``occurred_at``
    - meeting: ``outcome`` (held, no_show, rescheduled), ``notes``, ``occurred_at``
    - email: ``subject``, ``body`` (sent to the lead through the configured mailer, Reply-To you); with
      ``send: false``, an email exchanged outside Embudo is only logged (``direction``, ``occurred_at``)
    - whatsapp: ``text``, ``direction`` (a message sent through the click-to-chat link, or received)
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["call", "meeting", "email", "whatsapp"]
    outcome: str = Field("", max_length=20)
    direction: Literal["outbound", "inbound"] = "outbound"
    duration_seconds: int | None = None
    notes: str = ""
    occurred_at: datetime | None = Field(None, description="ISO 8601 with a time zone; default now.")
    subject: str = ""
    body: str = ""
    text: str = ""
    send: bool = Field(True, description="email only: false logs an email sent or received elsewhere.")


FIELDS_BY_KIND: dict[str, frozenset[str]] = {
    "call": frozenset({"kind", "outcome", "direction", "duration_seconds", "notes", "occurred_at"}),
    "meeting": frozenset({"kind", "outcome", "notes", "occurred_at"}),
    "email": frozenset({"kind", "subject", "body", "send", "direction", "occurred_at"}),
    "whatsapp": frozenset({"kind", "text", "direction"}),
}
