"""Events published by the interactions context (subscribers: config/event_map.py)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from embudo.core.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class InteractionLogged(Event):
    """A rep logged a call, meeting, email or WhatsApp message (the timeline line; pipeline moves the deal).

    ``summary`` is a one-line excerpt of the notes, email body or message.
    """

    context: ClassVar[str] = "interactions"
    interaction_id: int = 0
    kind: str = ""
    outcome: str = ""
    summary: str = ""
    direction: str = "outbound"
    duration_seconds: int | None = None
    subject: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class EmailFailed(Event):
    """An email sent through Embudo could not be delivered to the mail server (the timeline shows why)."""

    context: ClassVar[str] = "interactions"
    interaction_id: int = 0
    subject: str = ""
    to: str = ""
    error: str = ""
