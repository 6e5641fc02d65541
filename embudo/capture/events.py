"""Events of the capture context (subscribers: config/event_map.py)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from embudo.core.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeadCaptured(Event):
    """A submission reached a lead (new or existing). Scoring and routing react to it."""

    context: ClassVar[str] = "capture"
    submission_id: int
    channel: str
    created: bool
    form_id: int | None = None
    source: str = ""
    utm: dict[str, str] = dataclasses.field(default_factory=dict)
    fields: list[str] = dataclasses.field(default_factory=list)
    enriched: list[str] = dataclasses.field(default_factory=list)
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)
