"""Routing writes: assignments, pools' round-robin state, SLA clocks, speed-to-lead marks.

Interface used by other contexts (keep these signatures):

- :func:`route_at_intake` assigns a just captured lead, in the intake transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RoutingResult:
    lead_id: int
    owner_id: int | None
    team_id: int | None
    assignment_id: int | None


def route_at_intake(
    *, lead_id: int, created: bool, received_at: datetime, stored_at: datetime, scored_at: datetime
) -> RoutingResult | None:
    """Assign ``lead_id`` by the published rule set when it has no owner; record speed-to-lead marks.

    Returns the new ownership, or None when the lead kept its owner. Notifications are enqueued in the
    caller's transaction.
    """
    del lead_id, created, received_at, stored_at, scored_at
    return None
