"""Events published by the leads context (subscribers: config/event_map.py)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from embudo.core.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeadCreated(Event):
    context: ClassVar[str] = "leads"
    source: str = ""
    channel: str = ""
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    # The company the lead was filed under (None: no company, e.g. a free-mail address).
    company_id: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeadUpdated(Event):
    context: ClassVar[str] = "leads"
    changes: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    channel: str = ""
    # The publisher scores the lead in this same transaction (intake's merges): no rescoring job is needed.
    scored: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class NoteAdded(Event):
    context: ClassVar[str] = "leads"
    text: str = ""
