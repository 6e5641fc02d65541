"""Which jobs react to which domain event. Read top to bottom: this is the flow of Embudo.

Keys are event type names (``<context>.<EventClass>``); values are procrastinate task names.
``core.events.publish()`` defers one job per subscriber in the publisher's transaction, except where
``ONLY_WHEN`` below narrows a subscriber to some events of the type.
"""

from collections.abc import Callable, Mapping
from typing import Any

EVENT_SUBSCRIBERS: dict[str, list[str]] = {
    # Leads created outside intake (by hand in the UI) get their fit score here.
    # (A company's lead counts follow its leads through triggers and a periodic drain: leads.drain_company_stats.)
    "leads.LeadCreated": ["scoring.rescore_lead"],
    # An edit may change fit (rescore) or be the rep's first touch (SLA).
    "leads.LeadUpdated": ["scoring.rescore_lead", "routing.on_lead_updated"],
    # Intake scores and routes in its own transaction (speed-to-lead); nothing left to react to.
    "capture.LeadCaptured": [],
    "dedupe.LeadsMerged": ["scoring.rescore_lead"],
    "dedupe.MergeUndone": ["scoring.rescore_lead"],
    # Crossing into "hot" assigns an unowned lead, notifies the owner and starts the hot-lead SLA.
    "scoring.GradeChanged": ["routing.on_grade_changed"],
    # MQL/SQL start their SLAs; a rep's stage change is a first touch.
    "scoring.LifecycleChanged": ["routing.on_lifecycle_changed"],
    # The owner is notified in the assigning transaction; the lead enters the owner's pipeline board.
    "routing.LeadAssigned": ["pipeline.on_lead_assigned"],
    "sla.SlaMet": [],  # timeline only
    "sla.SlaBreached": [],  # timeline only; escalation and reassignment happen in the breach job
    # A logged call, email, meeting or WhatsApp message moves a new deal to "contacted".
    "interactions.InteractionLogged": ["pipeline.on_interaction_logged"],
    "interactions.EmailFailed": [],  # timeline only (the rep sees why and can send again)
    # Task rules ("call 3 days after the proposal") create follow-ups when a deal enters a stage.
    "pipeline.DealStageChanged": ["followups.on_deal_stage_changed"],
    "pipeline.DealAmountChanged": [],  # timeline only
    "followups.TaskCreated": [],  # timeline only; the reminder is a job scheduled at its time
    "followups.TaskCompleted": [],  # timeline only
}

# Subscribers that react to some events of a type only: the job is deferred only when the event's payload
# passes the condition: a key that must be true, a (key, value) pair the payload must hold, or a function of
# the payload. Deferring it for every event would queue jobs that load the event and return, each a worker
# fetch/run/finish cycle: scoring publishes a GradeChanged for every grade move (cold ↔ warm ↔ hot), hundreds a
# second while tracked activity flows in, and routing reacts to the moves into "hot" alone; intake scores the
# leads it creates or merges into in its own transaction (so do imports), so rescore_lead is for the other
# writers; a rep's first touch is a status change.
Condition = str | tuple[str, str] | Callable[[Mapping[str, Any]], bool]


def _changes(field: str) -> Callable[[Mapping[str, Any]], bool]:
    def changed(payload: Mapping[str, Any]) -> bool:
        return field in (payload.get("changes") or {})

    return changed


def _not_scored(payload: Mapping[str, Any]) -> bool:
    return not payload.get("scored")


ONLY_WHEN: dict[tuple[str, str], Condition] = {
    ("scoring.GradeChanged", "routing.on_grade_changed"): "became_hot",
    ("leads.LeadCreated", "scoring.rescore_lead"): ("channel", "manual"),
    ("leads.LeadUpdated", "scoring.rescore_lead"): _not_scored,
    ("leads.LeadUpdated", "routing.on_lead_updated"): _changes("status"),
}
