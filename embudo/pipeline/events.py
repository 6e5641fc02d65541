"""Events published by the pipeline context (subscribers: config/event_map.py)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from embudo.core.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class DealStageChanged(Event):
    """A deal entered a stage (``old_stage_key`` "" when the deal was just created)."""

    context: ClassVar[str] = "pipeline"
    deal_id: int
    old_stage_key: str
    stage_key: str
    stage_kind: str
    stage_name: str
    team_id: int | None = None
    old_stage_name: str = ""
    amount: str = ""
    currency: str = ""
    lost_reason: str = ""
    automatic: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class DealAmountChanged(Event):
    """The value of a deal changed."""

    context: ClassVar[str] = "pipeline"
    deal_id: int
    old_amount: str
    amount: str
    old_currency: str = ""
    currency: str = ""
