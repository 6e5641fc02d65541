"""Behaviour events API: ``POST /api/v1/events`` (one event or a batch of up to 1,000) and
``POST /api/v1/visitors/identify`` (server-side stitching of an anonymous visitor)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from embudo.accounts.models import User
from embudo.core.exceptions import InvalidInput, NotFound, PermissionDenied
from embudo.leads.schemas import ErrorOut
from embudo.tracking import services
from embudo.tracking.domain import events as domain

router = Router(tags=["tracking"])
SENDER_ROLES = frozenset({"admin", "marketing", "manager"})
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class EventsIn(Schema):
    """Either ``{"events": [event, …]}`` (1 to 1,000) or one event object at the top level."""

    model_config = ConfigDict(extra="allow")

    events: list[dict[str, Any]] | None = Field(
        None,
        min_length=1,
        max_length=domain.MAX_BATCH,
        description="Events: {type, timestamp?, lead_id | email | visitor_id, properties?, id?}.",
    )


class EventResultOut(Schema):
    index: int
    status: str = Field(description="stored, duplicate or rejected")
    id: str = Field("", description="The client id sent with the event, if any.")
    lead_id: int | None = None
    errors: dict[str, list[str]] = Field(default_factory=dict)


class EventsOut(Schema):
    stored: int
    duplicates: int
    rejected: int
    results: list[EventResultOut]


class IdentifyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    visitor_id: str
    lead_id: int | None = None
    email: str | None = None


class IdentifyOut(Schema):
    visitor_id: str
    lead_id: int
    events_moved: int


def _sender(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    if user.role not in SENDER_ROLES:
        raise PermissionDenied("Only admins, marketing and sales managers can send behaviour events.")
    return user


@router.post("/events", response={200: EventsOut, 207: EventsOut, **ERRORS}, summary="Record behaviour events")
def post_events(request: HttpRequest, payload: EventsIn) -> Status[EventsOut]:
    """Types: page_view, form_submitted, email_opened, email_clicked, email_replied, content_downloaded,
    webinar_attended, demo_requested, product_signed_up, product_active, or a custom slug
    (`[a-z][a-z0-9_]{0,39}`). Each event names exactly one of `lead_id`, `email` (must match a lead) or
    `visitor_id` (anonymous until the visitor identifies). `timestamp` defaults to now (at most 5 minutes
    ahead, at most 400 days old); `properties` is an object of at most 8 KB. An optional client `id`
    (unique per token) makes retries safe: a repeat is reported as `duplicate` and not counted again.
    `200` when every event was stored or duplicate, `207` when some were rejected (see `results`);
    a single event that is rejected is a `422`."""
    user = _sender(request)
    # ninja drops unknown top-level keys: a single event is read from the (already valid JSON) body.
    body = json.loads(request.body)
    extra = {k: v for k, v in body.items() if k != "events"} if isinstance(body, dict) else {}
    if payload.events is not None and extra:
        raise InvalidInput("Send either a list of events or one event.", fields={"events": ["Not both."]})
    items: list[object] = list(payload.events) if payload.events is not None else [extra]
    token_id = getattr(user, "token_id", None)
    result = services.ingest_events(items, scope=f"token:{token_id or user.pk}", source="api")
    if payload.events is None and result.rejected:
        raise InvalidInput("The event is not valid.", fields=result.items[0].errors)
    out = EventsOut(
        stored=result.stored,
        duplicates=result.duplicates,
        rejected=result.rejected,
        results=[EventResultOut(index=i.index, status=i.status, id=i.client_id, lead_id=i.lead_id, errors=i.errors)
                 for i in result.items],
    )  # fmt: skip
    return Status(207 if result.rejected else 200, out)


@router.post("/visitors/identify", response={200: IdentifyOut, **ERRORS}, summary="Stitch a visitor to a lead")
def identify_visitor(request: HttpRequest, payload: IdentifyIn) -> IdentifyOut:
    """Attach an anonymous `visitor_id` (e.g. the snippet's id, read on your server) to a lead given by
    `lead_id` or `email`: its anonymous events move to the lead and later ones go there directly."""
    _sender(request)
    if not domain.is_visitor_id(payload.visitor_id):
        raise InvalidInput(
            "The visitor id is not valid.", fields={"visitor_id": ["Give 8 to 64 letters, digits, - or _."]}
        )
    if (payload.lead_id is None) == (not payload.email):
        raise InvalidInput("Give exactly one of lead_id or email.", fields={"lead_id": ["Give lead_id or email."]})
    lead_id = services.resolve_lead(lead_id=payload.lead_id, email=payload.email or "")
    if lead_id is None:
        raise NotFound("No lead matches.", code="lead_not_found")
    moved = services.stitch_visitor(visitor_id=payload.visitor_id, lead_id=lead_id)
    return IdentifyOut(visitor_id=payload.visitor_id, lead_id=lead_id, events_moved=moved)
