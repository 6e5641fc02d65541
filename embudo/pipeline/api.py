"""JSON API of the pipeline context (mounted at "/" in config/api.py: full paths)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from embudo.accounts.models import User
from embudo.leads import selectors as leads_selectors
from embudo.leads.schemas import ErrorOut
from embudo.pipeline import exceptions, selectors, services
from embudo.pipeline.models import Deal, Stage

router = Router(tags=["pipeline"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class StageOut(Schema):
    id: int
    key: str
    name: str
    label: str
    position: int
    kind: str
    probability: int
    active: bool
    team_id: int | None


class DealOut(Schema):
    id: int
    lead_id: int
    stage: StageOut
    amount: Decimal
    currency: str
    owner_id: int | None
    team_id: int | None
    lost_reason: str
    stage_entered_at: datetime
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class DealPageOut(Schema):
    items: list[DealOut]
    page: int
    has_next: bool
    count: int
    total: Decimal


class DealQuery(Schema):
    owner: str = Field("", description='"me", "all" (everyone you can see) or a user id; default: reps "me".')
    team_id: int | None = None
    search: str = ""
    grade: Literal["", "hot", "warm", "cold"] = ""
    amount_min: Decimal | None = Field(None, ge=0)
    amount_max: Decimal | None = Field(None, ge=0)
    sort: Literal["-updated", "updated", "-amount", "amount", "stage", "-stage"] = "-updated"
    page: int = Field(1, ge=1, le=selectors.MAX_LIST_PAGES)


class MoveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    stage_id: int | None = None
    stage_key: str | None = Field(None, max_length=40)
    lost_reason: str = Field("", max_length=200, description="Required when moving to a lost stage.")
    amount: Decimal | None = Field(None, ge=0)


class AmountIn(Schema):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal | None = Field(None, ge=0)


class LostIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=200)


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _stage_out(stage: Stage) -> StageOut:
    return StageOut(id=stage.pk, key=stage.key, name=stage.name, label=selectors.stage_label(stage),
                    position=stage.position, kind=stage.kind, probability=stage.probability, active=stage.active,
                    team_id=stage.team_id)  # fmt: skip


def _deal_out(deal: Deal) -> DealOut:
    return DealOut(id=deal.pk, lead_id=deal.lead_id, stage=_stage_out(deal.stage), amount=deal.amount,
                   currency=deal.currency, owner_id=deal.owner_id, team_id=deal.team_id,
                   lost_reason=deal.lost_reason, stage_entered_at=deal.stage_entered_at, created_at=deal.created_at,
                   updated_at=deal.updated_at, closed_at=deal.closed_at)  # fmt: skip


@router.get("/pipeline/stages", response={200: list[StageOut], **ERRORS}, summary="Stages of a pipeline")
def list_stages(request: HttpRequest, team_id: int | None = None, include_inactive: bool = False) -> list[StageOut]:
    """The stages of `team_id`'s pipeline (its own, else the default one); without `team_id`, the default."""
    return [_stage_out(s) for s in selectors.list_stages(team_id, include_inactive=include_inactive)]


@router.get("/pipeline/deals", response={200: DealPageOut, **ERRORS}, summary="Deals you can see")
def list_deals(request: HttpRequest, query: Query[DealQuery]) -> DealPageOut:
    """The board's deals as pages of 50, with the count and total amount of the whole filtered set."""
    filters = selectors.BoardFilters(owner=query.owner, team_id=query.team_id, search=query.search,
                                     grade=query.grade, amount_min=query.amount_min, amount_max=query.amount_max,
                                     sort=query.sort)  # fmt: skip
    page = selectors.list_deals(_user(request), filters, page=query.page)
    return DealPageOut(items=[_deal_out(c.deal) for c in page.items], page=page.page, has_next=page.has_next,
                       count=page.count, total=page.total)  # fmt: skip


def _visible_deal(request: HttpRequest, lead_id: int) -> Deal:
    if leads_selectors.get_lead_visible_to(_user(request), lead_id) is None:
        raise exceptions.DealNotFound("Lead not found.")
    deal = selectors.get_deal_for_lead(lead_id)
    if deal is None:
        raise exceptions.DealNotFound("This lead has no deal yet.")
    return deal


@router.get("/leads/{int:lead_id}/deal", response={200: DealOut, **ERRORS}, summary="The deal of a lead")
def get_deal(request: HttpRequest, lead_id: int) -> DealOut:
    return _deal_out(_visible_deal(request, lead_id))


def _stage_id(request: HttpRequest, lead_id: int, payload: MoveIn) -> int:
    if payload.stage_id is not None:
        return payload.stage_id
    lead = leads_selectors.get_lead_visible_to(_user(request), lead_id)
    if lead is None:
        raise exceptions.DealNotFound("Lead not found.")
    if not payload.stage_key:
        raise exceptions.InvalidMove("Give stage_id or stage_key.", fields={"stage_id": ["Required."]})
    stage = next((s for s in selectors.pipeline_stages_for_lead(lead.team_id) if s.key == payload.stage_key), None)
    if stage is None:
        raise exceptions.InvalidMove("Unknown stage.", fields={"stage_key": ["Unknown stage."]})
    return stage.pk


@router.post("/leads/{int:lead_id}/deal/move", response={200: DealOut, **ERRORS}, summary="Move a deal")
def move_deal(request: HttpRequest, lead_id: int, payload: MoveIn) -> DealOut:
    """Move the lead's deal (created when missing) to a stage, by `stage_id` or `stage_key`. Moving to a lost
    stage needs `lost_reason`."""
    deal = services.move_deal(actor=_user(request), lead_id=lead_id, stage_id=_stage_id(request, lead_id, payload),
                              lost_reason=payload.lost_reason, amount=payload.amount)  # fmt: skip
    return _deal_out(deal)


@router.post("/leads/{int:lead_id}/convert", response={200: DealOut, **ERRORS}, summary="Convert to opportunity")
def convert(request: HttpRequest, lead_id: int, payload: AmountIn | None = None) -> DealOut:
    amount = payload.amount if payload else None
    return _deal_out(services.convert_to_opportunity(actor=_user(request), lead_id=lead_id, amount=amount))


@router.post("/leads/{int:lead_id}/won", response={200: DealOut, **ERRORS}, summary="Mark the deal won")
def won(request: HttpRequest, lead_id: int, payload: AmountIn | None = None) -> DealOut:
    amount = payload.amount if payload else None
    return _deal_out(services.mark_won(actor=_user(request), lead_id=lead_id, amount=amount))


@router.post("/leads/{int:lead_id}/lost", response={200: DealOut, **ERRORS}, summary="Mark the deal lost")
def lost(request: HttpRequest, lead_id: int, payload: LostIn) -> DealOut:
    """`reason` is required (it is predictive scoring's training data)."""
    return _deal_out(services.mark_lost(actor=_user(request), lead_id=lead_id, reason=payload.reason))
