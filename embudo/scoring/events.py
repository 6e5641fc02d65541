"""Events published by the scoring context (subscribers: config/event_map.py)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from embudo.core.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class GradeChanged(Event):
    """A lead's grade moved (e.g. warm → hot). ``became_hot`` is what routing and notifications react to."""

    context: ClassVar[str] = "scoring"
    old_grade: str
    grade: str
    old_score: int
    score: int
    became_hot: bool
    version_id: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class LifecycleChanged(Event):
    """A lifecycle transition, automatic (``rule``) or by hand (``actor_id``), with why."""

    context: ClassVar[str] = "scoring"
    old_stage: str
    stage: str
    reason: str = ""
    rule: str = ""
