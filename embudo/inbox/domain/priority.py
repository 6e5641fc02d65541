"""Who to call first: the inbox's priority order, in plain Python (no Django).

The order, most urgent first:

1. an SLA overdue (breached) or due within the hour;
2. hot leads;
3. the nearest SLA deadline (leads without one after those with one);
4. the highest score;
5. the lead waiting longest (least recently updated);
6. the lead id (a total, stable order).

``selectors.INBOX_ORDER_SQL`` is the same order in SQL; tests check they agree on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

URGENT_WINDOW = timedelta(hours=1)
HOT = "hot"
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)

SlaState = Literal["breached", "due_soon", "running", "none"]


@dataclass(frozen=True)
class Candidate:
    lead_id: int
    grade: str
    score: int
    updated_at: datetime
    sla_due_at: datetime | None = None


def sla_state(due_at: datetime | None, now: datetime) -> SlaState:
    """``breached`` (deadline passed), ``due_soon`` (within the hour), ``running`` or ``none``."""
    if due_at is None:
        return "none"
    if due_at <= now:
        return "breached"
    if due_at <= now + URGENT_WINDOW:
        return "due_soon"
    return "running"


def is_urgent(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at <= now + URGENT_WINDOW


def priority_key(c: Candidate, now: datetime) -> tuple[int, int, int, datetime, int, datetime, int]:
    """Sort key: smaller first. Total (ends with the id) so the order never depends on input order."""
    return (
        0 if is_urgent(c.sla_due_at, now) else 1,
        0 if c.grade == HOT else 1,
        0 if c.sla_due_at is not None else 1,
        c.sla_due_at or _FAR_FUTURE,
        -c.score,
        c.updated_at,
        c.lead_id,
    )


def prioritize(candidates: Iterable[Candidate], now: datetime) -> list[Candidate]:
    return sorted(candidates, key=lambda c: priority_key(c, now))
