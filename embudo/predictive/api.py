"""Predictive scoring API: the active model's quality, "train now", and one lead's prediction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from embudo.leads import selectors as lead_selectors
from embudo.leads.schemas import ErrorOut
from embudo.predictive import exceptions, selectors, services

router = Router(tags=["predictive"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class GateOut(Schema):
    rows: int
    won: int
    lost: int
    passed: bool
    min_rows: int
    min_per_class: int
    message: str


class ModelOut(Schema):
    id: int
    kind: str
    trained_at: datetime
    rows: int
    positives: int
    rows_live: int
    rows_imported: int
    auc: float | None
    log_loss: float | None
    baseline_auc: float | None
    baseline_log_loss: float | None
    calibration: list[dict[str, Any]]
    importances: dict[str, float]


class ModelStateOut(Schema):
    using: str  # "model" or "rules"
    gate: GateOut
    model: ModelOut | None


class TrainOut(Schema):
    queued: bool


class FactorOut(Schema):
    feature: str
    value: str
    delta: float


class PredictionOut(Schema):
    lead_id: int
    probability: float
    model_id: int
    trained_at: datetime
    up: list[FactorOut]
    down: list[FactorOut]


@router.get("/scoring/predictive/model", response={200: ModelStateOut, **ERRORS}, summary="The predictive model")
def get_model(request: HttpRequest) -> ModelStateOut:
    """The active model's AUC, log-loss (25 % hold-out), calibration bins and feature importances, and the
    minimum-data gate. `using` is `rules` while no model is active. Admins, marketing and managers."""
    if not services.can_view_model(request.auth):  # type: ignore[attr-defined]
        raise exceptions.NotAllowed("Only admins, marketing and managers see the predictive model.")
    gate = selectors.gate()
    model = selectors.get_active_model()
    gate_out = GateOut(rows=gate.rows, won=gate.won, lost=gate.lost, passed=gate.passed, min_rows=gate.min_rows,
                       min_per_class=gate.min_per_class, message=services.gate_message(gate))  # fmt: skip
    return ModelStateOut(using="model" if model else "rules", gate=gate_out,
                         model=ModelOut.from_orm(model) if model else None)  # fmt: skip


@router.post("/scoring/predictive/train", response={202: TrainOut, **ERRORS}, summary="Train the model now")
def train(request: HttpRequest) -> Status:
    """Queue a training run (admins and marketing). `queued` is false when one is already waiting."""
    return Status(202, TrainOut(queued=services.request_training(actor=request.auth)))  # type: ignore[attr-defined]


@router.get("/leads/{int:lead_id}/prediction", response={200: PredictionOut, **ERRORS},
            summary="A lead's conversion probability")  # fmt: skip
def lead_prediction(request: HttpRequest, lead_id: int) -> PredictionOut:
    """Probability of winning the lead from the active model, with the top factors raising (`up`) and
    lowering (`down`) it (`delta`: change in probability against a typical value). 404 `no_model` while
    scoring uses the rules only."""
    if lead_selectors.get_lead_visible_to(request.auth, lead_id) is None:  # type: ignore[attr-defined]
        raise exceptions.LeadNotFound("Lead not found.")
    prediction = selectors.prediction_for(lead_id)
    if prediction is None:
        raise exceptions.NoModel(services.gate_message(selectors.gate()))
    return PredictionOut(
        lead_id=lead_id, probability=round(prediction.probability, 4), model_id=prediction.model_id,
        trained_at=prediction.trained_at, up=[FactorOut(**f.as_dict()) for f in prediction.up],
        down=[FactorOut(**f.as_dict()) for f in prediction.down],
    )  # fmt: skip
