"""Jobs of the routing context: take ids, load, call one service; idempotent."""

from __future__ import annotations

from procrastinate.contrib.django import app

from embudo.core import events as core_events
from embudo.routing import services

# Who counts as a rep touching the lead (a status or stage change by them is a first touch).
_HUMAN_ROLES = ("sales_rep", "manager", "admin")


def _is_rep(actor_id: int | None) -> bool:
    if actor_id is None:
        return False
    from embudo.accounts.models import User

    return User.objects.filter(pk=actor_id, is_active=True, role__in=_HUMAN_ROLES).exists()


@app.task(name="routing.on_lead_updated", retry=5)
def on_lead_updated(event_id: int) -> None:
    """A status change by a rep is a first touch (SLA). Owner/team changes are ignored here: routing
    writes them itself (no loop), and manual edits are recorded by the editor."""
    event = core_events.get_event(event_id)
    changes = (event.payload or {}).get("changes") or {}
    if event.lead_id is None or "status" not in changes or not _is_rep(event.actor_id):
        return
    from embudo.sla import services as sla_services

    sla_services.record_touch(lead_id=event.lead_id, kind="status_change", at=event.occurred_at,
                              actor_id=event.actor_id)  # fmt: skip


@app.task(name="routing.on_grade_changed", retry=5)
def on_grade_changed(event_id: int) -> None:
    """Became hot: an unowned lead is routed now; an owned one's owner is told. Then the hot-lead SLA."""
    services.on_grade_changed(event_id=event_id)


@app.task(name="routing.on_lifecycle_changed", retry=5)
def on_lifecycle_changed(event_id: int) -> None:
    """A new stage starts its SLA clocks (e.g. "sql"); a stage change by a rep is a first touch."""
    event = core_events.get_event(event_id)
    if event.lead_id is None:
        return
    from embudo.sla import services as sla_services

    stage = str((event.payload or {}).get("stage") or "")
    if stage:
        sla_services.start_clocks(lead_id=event.lead_id, trigger=stage)
    if _is_rep(event.actor_id):
        sla_services.record_touch(lead_id=event.lead_id, kind="stage_change", at=event.occurred_at,
                                  actor_id=event.actor_id)  # fmt: skip


@app.task(name="routing.route_leads", retry=5)
def route_leads(lead_ids: list[int], trigger: str) -> None:
    """Route leads that arrived without an owner in bulk (a CSV import), in order, set-based in transactions of
    ``services.ROUTE_TOGETHER_MAX``; idempotent (an owned lead is skipped)."""
    for start in range(0, len(lead_ids), services.ROUTE_TOGETHER_MAX):
        services.route_leads_together(lead_ids[start : start + services.ROUTE_TOGETHER_MAX], trigger=trigger)
