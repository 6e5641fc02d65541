"""JSON API of the interactions context (mounted at /api/v1/ in config/api.py, router at "/")."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from embudo.accounts.models import User
from embudo.interactions import selectors, services
from embudo.interactions.exceptions import InteractionNotFound, InvalidInteraction, LeadNotFound
from embudo.interactions.models import Interaction
from embudo.interactions.schemas import FIELDS_BY_KIND, ErrorOut, InteractionIn, InteractionOut, InteractionPageOut
from embudo.leads import selectors as leads_selectors

router = Router(tags=["interactions"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class ListQuery(Schema):
    kind: str = ""
    cursor: str | None = None
    limit: int = 50


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


@router.get("/leads/{int:lead_id}/interactions", response={200: InteractionPageOut, **ERRORS},
            summary="A lead's calls, meetings, emails and WhatsApp messages")  # fmt: skip
def list_interactions(request: HttpRequest, lead_id: int, query: Query[ListQuery]) -> InteractionPageOut:
    """Newest first. Keyset pagination: pass `next_cursor` back as `cursor`."""
    if leads_selectors.get_lead_visible_to(_actor(request), lead_id) is None:
        raise LeadNotFound(_("Lead not found."))
    if not 1 <= query.limit <= 200:
        raise InvalidInteraction(_("Invalid limit."), fields={"limit": [_("Between 1 and 200.")]})
    if query.kind and query.kind not in FIELDS_BY_KIND:
        raise InvalidInteraction(_("Unknown kind."), fields={"kind": [_("call, meeting, email or whatsapp.")]})
    try:
        page = selectors.list_interactions(lead_id, kind=query.kind, cursor=query.cursor, limit=query.limit)
    except ValueError as exc:
        raise InvalidInteraction(_("Invalid cursor."), fields={"cursor": [_("Invalid cursor.")]}) from exc
    return InteractionPageOut(items=[InteractionOut.from_orm(i) for i in page.items], next_cursor=page.next_cursor)


@router.post("/leads/{int:lead_id}/interactions", response={201: InteractionOut, **ERRORS},
             summary="Log a call or meeting, send an email or log a WhatsApp message")  # fmt: skip
def create_interaction(request: HttpRequest, lead_id: int, payload: InteractionIn) -> Status:
    """Counts as the lead's first touch for its SLAs. An email answers with `delivery_status` "queued": it is
    sent in the background (poll `GET /interactions/{id}`)."""
    unused = sorted(payload.model_fields_set - FIELDS_BY_KIND[payload.kind])
    if unused:
        message = _("Not used for this kind of interaction.")
        raise InvalidInteraction(_("Some fields are not valid."), fields={name: [message] for name in unused})
    actor, p = _actor(request), payload
    if p.kind == "call":
        interaction = services.log_call(actor=actor, lead_id=lead_id, outcome=p.outcome, direction=p.direction,
                                        duration_seconds=p.duration_seconds, notes=p.notes,
                                        occurred_at=p.occurred_at)  # fmt: skip
    elif p.kind == "meeting":
        interaction = services.log_meeting(actor=actor, lead_id=lead_id, outcome=p.outcome, notes=p.notes,
                                           occurred_at=p.occurred_at)  # fmt: skip
    elif p.kind == "email" and not p.send:
        interaction = services.log_email(actor=actor, lead_id=lead_id, subject=p.subject, body=p.body,
                                         direction=p.direction, occurred_at=p.occurred_at)  # fmt: skip
    elif p.kind == "email":
        logged_only = sorted(payload.model_fields_set & {"direction", "occurred_at"})
        if logged_only:
            message = _("Only for an email logged with send=false.")
            raise InvalidInteraction(_("Some fields are not valid."), fields={name: [message] for name in logged_only})
        interaction = services.send_email(actor=actor, lead_id=lead_id, subject=p.subject, body=p.body)
    else:
        interaction = services.log_whatsapp(actor=actor, lead_id=lead_id, text=p.text, direction=p.direction)
    return Status(201, selectors.get_interaction_visible_to(actor, interaction.pk) or interaction)


@router.get("/interactions/{int:interaction_id}", response={200: InteractionOut, **ERRORS},
            summary="One interaction (e.g. an email's delivery status)")  # fmt: skip
def get_interaction(request: HttpRequest, interaction_id: int) -> Interaction:
    interaction = selectors.get_interaction_visible_to(_actor(request), interaction_id)
    if interaction is None:
        raise InteractionNotFound(_("Interaction not found."))
    return interaction


@router.post("/interactions/{int:interaction_id}/retry", response={200: InteractionOut, **ERRORS},
             summary="Send a failed email again")  # fmt: skip
def retry_email(request: HttpRequest, interaction_id: int) -> Interaction:
    services.retry_email(actor=_actor(request), interaction_id=interaction_id)
    return selectors.get_interaction_visible_to(_actor(request), interaction_id)  # type: ignore[return-value]
