"""Which jobs react to which domain event. Read top to bottom: this is the flow of Embudo.

Keys are event type names (``<context>.<EventClass>``); values are procrastinate task names.
``core.events.publish()`` defers one job per subscriber in the publisher's transaction.
"""

EVENT_SUBSCRIBERS: dict[str, list[str]] = {
    "leads.LeadCreated": ["leads.refresh_company_stats"],
    "leads.LeadUpdated": ["leads.refresh_company_stats"],
    # Scoring and routing subscribe here when they land.
    "capture.LeadCaptured": [],
    "dedupe.LeadsMerged": [],  # timeline only (scoring will re-score the survivor)
    "dedupe.MergeUndone": [],  # timeline only
}
