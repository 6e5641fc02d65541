"""Events of the SLA context (the lead timeline shows them through templates/timeline/sla/)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from embudo.core.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class SlaMet(Event):
    context: ClassVar[str] = "sla"
    clock_id: int
    policy_id: int
    policy_name: str
    owner_id: int | None
    touch: str
    minutes: float  # business minutes from start to the touch
    target_minutes: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class SlaBreached(Event):
    context: ClassVar[str] = "sla"
    clock_id: int
    policy_id: int
    policy_name: str
    owner_id: int | None
    owner_name: str
    due_at: str  # ISO 8601
    target_minutes: int
    late_touch: str = ""  # the touch kind when a touch came after the deadline (no escalation then)
    escalated_to: list[int] = dataclasses.field(default_factory=list)
    reassigned_to: int | None = None
    reassigned_to_name: str = ""
