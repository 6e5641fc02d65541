"""The duplicates API: the review queue, dismissing a pair, merging two leads and undoing a merge.

Managers, marketing and admins only (reps get 403); managers act on leads of their teams.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict

from embudo.dedupe import exceptions, selectors, services
from embudo.leads.schemas import ErrorOut

router = Router(tags=["duplicates"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class ReasonOut(Schema):
    field: str
    similarity: float
    weight: float


class LeadBriefOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    company_name: str


class DuplicateOut(Schema):
    id: int
    score: float
    status: str
    reasons: list[ReasonOut]
    created_at: datetime
    lead_a: LeadBriefOut
    lead_b: LeadBriefOut


class MergeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    merged_id: int
    fields: dict[str, Literal["survivor", "merged"]] = {}


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_id: int
    fields: dict[str, str]
    changes: dict[str, Any]
    moved: dict[str, list[Any]]
    created_at: datetime
    undone_at: datetime | None


def _user(request: HttpRequest) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    if not services.can_manage_duplicates(user):
        raise exceptions.NotAllowedToMerge("Only managers, marketing and admins review duplicates.")
    return user


def _out(item: selectors.QueueItem) -> DuplicateOut:
    c = item.candidate
    return DuplicateOut(id=c.pk, score=c.score, status=c.status, reasons=c.reasons, created_at=c.created_at,
                        lead_a=LeadBriefOut.from_orm(item.lead_a),
                        lead_b=LeadBriefOut.from_orm(item.lead_b))  # fmt: skip


@router.get("/duplicates", response={200: list[DuplicateOut], **ERRORS}, summary="The duplicates review queue")
def list_duplicates(request: HttpRequest, status: Literal["open", "merged", "dismissed"] = "open",
                    limit: int = 50) -> list[DuplicateOut]:  # fmt: skip
    """Pairs of leads that may be one person, best score first, with the fields that agreed."""
    items = selectors.list_queue_visible_to(_user(request), status=status, limit=max(1, min(limit, 200)))
    return [_out(item) for item in items]


@router.post("/duplicates/{int:candidate_id}/dismiss", response={200: DuplicateOut, **ERRORS},
             summary="Not a duplicate")  # fmt: skip
def dismiss_duplicate(request: HttpRequest, candidate_id: int) -> DuplicateOut:
    user = _user(request)
    services.dismiss_candidate(actor=user, candidate_id=candidate_id)
    item = selectors.get_candidate_visible_to(user, candidate_id)
    if item is None:  # pragma: no cover - visible a moment ago
        raise exceptions.CandidateNotFound("Duplicate not found.")
    return _out(item)


@router.post("/leads/{int:lead_id}/merge", response={201: MergeOut, **ERRORS}, summary="Merge a lead into this one")
def merge_into(request: HttpRequest, lead_id: int, payload: MergeIn) -> Status:
    """`merged_id` disappears into lead `lead_id`; `fields` picks, per field, whose value survives
    (`survivor` or `merged`; omitted fields follow the survivorship policy). Undo with `/merges/{id}/undo`."""
    merge = services.merge_leads(actor=_user(request), survivor_id=lead_id, merged_id=payload.merged_id,
                                 field_choices=payload.fields)  # fmt: skip
    return Status(201, merge)


@router.post("/merges/{int:merge_id}/undo", response={200: MergeOut, **ERRORS}, summary="Undo a merge")
def undo_merge(request: HttpRequest, merge_id: int) -> Any:
    """Restores both leads exactly as they were and moves their rows back."""
    return services.unmerge(actor=_user(request), merge_id=merge_id)
