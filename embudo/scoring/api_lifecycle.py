"""JSON API for lifecycle moves by hand and BANT (mounted at "/": full paths under /leads/{id}/…)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from embudo.leads.models import Lead
from embudo.leads.schemas import ErrorOut, LifecycleStage
from embudo.scoring import lifecycle

router = Router(tags=["lifecycle"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class LifecycleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    stage: LifecycleStage
    reason: str = Field(
        "",
        max_length=200,
        description="Disqualifying: one of no_budget, no_authority, no_need, bad_timing, competitor, student, "
        "spam, unreachable, other. Otherwise free text (required when moving back).",
    )
    note: str = Field("", max_length=200, description="Free text added to a disqualification reason.")


class BantIn(Schema):
    model_config = ConfigDict(extra="forbid")

    budget: str = Field(..., max_length=200, description='"" means unknown.')
    authority: str = Field(..., max_length=200)
    need: str = Field(..., max_length=200)
    timing: str = Field(..., max_length=200)


class LifecycleOut(Schema):
    id: int
    lifecycle_stage: str
    lifecycle_reason: str
    lifecycle_changed_at: datetime | None
    bant_budget: str
    bant_authority: str
    bant_need: str
    bant_timing: str
    bant_known: int


@router.post(
    "/leads/{int:lead_id}/lifecycle",
    response={200: LifecycleOut, **ERRORS},
    summary="Move a lead to a lifecycle stage by hand",
)
def set_stage(request: HttpRequest, lead_id: int, payload: LifecycleIn) -> Lead:
    """Reps on their own leads, managers on their teams', admins on all; marketing between the marketing
    stages. Disqualifying needs a `reason` code (and a `note` for "other"); moving back needs a reason."""
    return lifecycle.set_stage(
        lead_id=lead_id,
        stage=payload.stage,
        actor=request.auth,  # type: ignore[attr-defined]
        reason=payload.reason,
        note=payload.note,
    )


@router.put("/leads/{int:lead_id}/bant", response={200: LifecycleOut, **ERRORS}, summary="Set a lead's BANT")
def update_bant(request: HttpRequest, lead_id: int, payload: BantIn) -> Lead:
    """All four known moves a lead, MQL or PQL to SQL (rule `bant_complete`)."""
    return lifecycle.update_bant(lead_id=lead_id, actor=request.auth, **payload.dict())  # type: ignore[attr-defined]
