"""Events published by the routing context (subscribers: config/event_map.py)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from embudo.core.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeadAssigned(Event):
    """A lead got an owner (or was left in a team queue), with why: the lead timeline shows it."""

    context: ClassVar[str] = "routing"
    assignment_id: int
    owner_id: int | None
    owner_name: str = ""
    previous_owner_id: int | None = None
    team_id: int | None = None
    kind: str = "automatic"
    outcome: str = "assigned"
    trigger: str = ""
    rule: str = ""
    pool: str = ""
    reason: str = ""
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)  # skip reason → how many reps
