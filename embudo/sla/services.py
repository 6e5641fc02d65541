"""SLA clocks: started by routing, stopped by a first touch, reminded and escalated by jobs.

Interface used by other contexts (keep these signatures): :func:`start_clocks`, :func:`record_touch`.
"""

from __future__ import annotations

from datetime import datetime


def start_clocks(*, lead_id: int, trigger: str) -> None:
    """Start the SLA clocks whose policy matches the lead now (``trigger``: "assigned", "hot", "sql", …)."""
    del lead_id, trigger


def record_touch(*, lead_id: int, kind: str, at: datetime, actor_id: int | None) -> None:
    """A first touch (call, email, WhatsApp, meeting, stage change): stops the open clocks of the lead."""
    del lead_id, kind, at, actor_id
