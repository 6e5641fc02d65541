"""Jobs of predictive scoring: the weekly (and on-demand) training run and batch scoring of open leads."""

from __future__ import annotations

import logging

from procrastinate.contrib.django import app

from embudo.predictive import exceptions, services

logger = logging.getLogger(__name__)


@app.periodic(cron="0 3 * * 1", periodic_id="predictive.train_weekly")
@app.task(name="predictive.train_weekly", queueing_lock="predictive.train")
def train_weekly(timestamp: int) -> None:
    del timestamp
    _train(actor_id=None)


@app.task(name="predictive.train", queueing_lock="predictive.train")
def train(actor_id: int | None = None) -> None:
    """Train a model now ("Train now"); below the minimum-data gate it logs why and stores nothing."""
    _train(actor_id=actor_id)


def _train(*, actor_id: int | None) -> None:
    try:
        services.train_model(actor_id=actor_id)
    except exceptions.NotEnoughData as exc:
        logger.info("predictive model not trained: %s", exc.message)


@app.task(name="predictive.score_open_leads")
def score_open_leads(model_id: int | None = None) -> None:
    """Store every open lead's probability from the active model (chunked; idempotent)."""
    services.score_open_leads(model_id=model_id)
