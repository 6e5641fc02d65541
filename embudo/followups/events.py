"""Events of the followups context (rendered on the lead timeline by templates/timeline/followups/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from embudo.core.events import Event


@dataclass(frozen=True, kw_only=True)
class TaskCreated(Event):
    context: ClassVar[str] = "followups"
    task_id: int
    kind: str
    title: str
    due_at: str  # ISO 8601
    assignee_id: int
    assignee_name: str = ""
    rule_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class TaskCompleted(Event):
    context: ClassVar[str] = "followups"
    task_id: int
    kind: str
    title: str
    due_at: str
    completed_at: str
    late: bool = False
