"""Helpers of the scoring engine tests (not a test module)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from embudo.core.models import DomainEvent
from embudo.leads.models import Lead
from embudo.scoring import services
from embudo.scoring.models import ScoringVersion

FIT_DIRECTOR = {
    "kind": "fit",
    "label": "Senior title",
    "points": 50,
    "conditions": [{"field": "job_title", "op": "contains", "value": ["director", "head", "vp"]}],
}
PRICING = {
    "kind": "engagement",
    "label": "Pricing page",
    "points": 15,
    "event_type": "page_view",
    "conditions": [{"field": "properties.url", "op": "contains", "value": "/pricing"}],
}
WEBINAR = {
    "kind": "engagement",
    "label": "Webinar",
    "points": 25,
    "event_type": "webinar_attended",
    "repeatable": True,
    "max_points": 50,
}
FREE_MAIL = {
    "kind": "fit",
    "label": "Free mail",
    "points": -10,
    "conditions": [{"field": "email_domain_kind", "op": "equals", "value": "free"}],
}


def publish_model(rules: list[dict[str, Any]], *, team_id: int | None = None, **options: Any) -> ScoringVersion:
    draft = services.create_draft(actor=None, team_id=team_id)
    services.update_draft(draft.pk, actor=None, rules=rules, **options)
    return services.publish(draft.pk, actor=None, rescore="now")


def activity(lead: Lead, event_type: str, at: datetime, **properties: Any) -> DomainEvent:
    return DomainEvent.objects.create(
        type=f"activity.{event_type}",
        occurred_at=at,
        lead_id=lead.pk,
        payload={"properties": properties, "visitor_id": "v1", "source": "api"},
    )


def ledger_state() -> list[tuple[int, int, int, int]]:
    """(lead_id, lead.score, ledger sum, contributions sum) for every lead."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.id, l.score, "
            "coalesce((SELECT sum(points) FROM scoring_scoreentry e WHERE e.lead_id = l.id), 0), "
            "coalesce((SELECT sum(points) FROM scoring_scorecontribution c WHERE c.lead_id = l.id), 0) "
            "FROM leads_lead l ORDER BY l.id"
        )
        return [(int(a), int(b), int(c), int(d)) for a, b, c, d in cursor.fetchall()]


def assert_invariant() -> None:
    for lead_id, score, ledger, contributions in ledger_state():
        assert score == ledger == contributions, (lead_id, score, ledger, contributions)
