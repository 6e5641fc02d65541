from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from embudo.core.exceptions import InvalidInput
from embudo.leads import selectors, services
from embudo.leads.exceptions import LeadNotFound
from embudo.leads.models import Lead
from embudo.leads.schemas import ErrorOut, LeadDetailOut, LeadOut, LeadPageOut, LeadPatch, TimelineEventOut

router = Router(tags=["leads"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class LeadListQuery(Schema):
    search: str = ""
    owner_id: int | None = None
    unassigned: bool = False
    team_id: int | None = None
    company_id: int | None = None
    lifecycle_stage: str = ""
    status: str = ""
    grade: str = ""
    source: str = ""
    country: str = ""
    sort: Literal["-created", "created", "-updated", "-score", "score", "last_name"] = "-created"
    cursor: str | None = None
    limit: int = 50


@router.get("", response={200: LeadPageOut, **ERRORS}, summary="List leads you can see")
def list_leads(request: HttpRequest, query: Query[LeadListQuery]) -> LeadPageOut:
    """Filters combine with AND; `search` matches name, email, company and phone. Keyset
    pagination: pass `next_cursor` back as `cursor`."""
    if not 1 <= query.limit <= 200:
        raise InvalidInput("Invalid limit.", fields={"limit": ["Between 1 and 200."]})
    filters = selectors.LeadFilters(**query.dict(exclude={"cursor", "limit"}))
    try:
        page = selectors.list_leads_visible_to(request.auth, filters=filters, cursor=query.cursor, limit=query.limit)  # type: ignore[attr-defined]
    except ValueError as exc:
        raise InvalidInput("Invalid cursor.", fields={"cursor": [str(exc)]}) from exc
    return LeadPageOut(items=[LeadOut.from_orm(lead) for lead in page.items], next_cursor=page.next_cursor)


def _detail(request: HttpRequest, lead_id: int) -> LeadDetailOut:
    lead = selectors.get_lead_visible_to(request.auth, lead_id)  # type: ignore[attr-defined]
    if lead is None:
        raise LeadNotFound("Lead not found.")
    timeline = [TimelineEventOut.from_orm(e) for e in selectors.list_timeline(lead.pk)]
    return LeadDetailOut(**LeadOut.from_orm(lead).dict(), timeline=timeline)


@router.get("/{int:lead_id}", response={200: LeadDetailOut, **ERRORS}, summary="A lead with its timeline")
def get_lead(request: HttpRequest, lead_id: int) -> LeadDetailOut:
    return _detail(request, lead_id)


@router.patch("/{int:lead_id}", response={200: LeadOut, **ERRORS}, summary="Change some fields of a lead")
def update_lead(request: HttpRequest, lead_id: int, payload: LeadPatch) -> Lead:
    lead = services.update_lead(actor=request.auth, lead_id=lead_id, changes=payload.dict(exclude_unset=True))  # type: ignore[attr-defined]
    return selectors.get_lead_visible_to(request.auth, lead.pk) or lead  # type: ignore[attr-defined]
