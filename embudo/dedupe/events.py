"""Events published by the dedupe context (subscribers: config/event_map.py)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from embudo.core.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeadsMerged(Event):
    """On the survivor's timeline: ``merged_id`` was merged into it (``lead_id``)."""

    context: ClassVar[str] = "dedupe"
    merge_id: int = 0
    merged_id: int = 0
    changed: list[str] = dataclasses.field(default_factory=list)
    moved: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MergeUndone(Event):
    """On both timelines: the merge ``merge_id`` of ``merged_id`` into ``survivor_id`` was undone."""

    context: ClassVar[str] = "dedupe"
    merge_id: int = 0
    survivor_id: int = 0
    merged_id: int = 0
