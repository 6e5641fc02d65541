"""Writes of predictive scoring: training a model, importing historical outcomes, batch scoring."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import connection, transaction
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.contrib.django import app as procrastinate_app

from embudo.accounts.models import Role, User
from embudo.core import clock
from embudo.predictive import exceptions, selectors
from embudo.predictive.domain import dataset as domain_dataset
from embudo.predictive.domain import features as domain_features
from embudo.predictive.domain import model as domain_model
from embudo.predictive.models import HistoricalOutcome, ModelStatus, PredictiveModel

logger = logging.getLogger(__name__)

TRAINERS = frozenset({Role.ADMIN, Role.MARKETING})
VIEWERS = frozenset({Role.ADMIN, Role.MARKETING, Role.MANAGER})


def can_train(user: User) -> bool:
    """Training and importing outcomes: admins and marketing."""
    return user.is_authenticated and user.role in TRAINERS


def can_view_model(user: User) -> bool:
    """The model page (metrics, calibration, importances): admins, marketing and sales managers."""
    return user.is_authenticated and user.role in VIEWERS


def gate_message(gate: selectors.Gate) -> str:
    return selectors.gate_message(gate)


def train_model(*, actor_id: int | None = None, seed: int = 42) -> PredictiveModel:
    """Learn conversion from every known outcome and make the result the one active model.

    Metrics (AUC, log-loss, calibration, the naive-Bayes baseline) come from a stratified 25 % hold-out;
    the stored model is then refitted on all rows. Below the minimum-data gate nothing is stored and
    ``NotEnoughData`` is raised. Defers batch scoring of open leads in the same transaction."""
    data = selectors.training_data()
    won = sum(data.labels)
    gate = selectors.Gate(rows=len(data.labels), won=won, lost=len(data.labels) - won)
    if not gate.passed:
        raise exceptions.NotEnoughData(gate_message(gate))
    train_rows, train_labels, test_rows, test_labels = domain_model.split(data.rows, data.labels, seed=seed)
    evaluation = domain_model.evaluate(train_rows, train_labels, test_rows, test_labels, seed=seed)
    final = domain_model.fit(data.rows, data.labels, seed=seed)
    importances = final.importances(domain_features.encode(data.rows, final.schema))
    with transaction.atomic():
        PredictiveModel.objects.filter(status=ModelStatus.ACTIVE).update(status=ModelStatus.RETIRED)
        stored = PredictiveModel.objects.create(
            status=ModelStatus.ACTIVE,
            kind=final.kind,
            trained_at=clock.now(),
            rows=gate.rows,
            positives=gate.won,
            rows_live=data.live,
            rows_imported=data.imported,
            auc=evaluation.model.auc,
            log_loss=evaluation.model.log_loss,
            baseline_auc=evaluation.baseline.auc,
            baseline_log_loss=evaluation.baseline.log_loss,
            calibration=[b.as_dict() for b in evaluation.model.calibration],
            importances={k: round(v, 5) for k, v in list(importances.items())[:30]},
            params={**final.params, "holdout_rows": evaluation.rows_test, "features": final.schema.names},
            blob=domain_model.dumps(final),
            trained_by_id=actor_id,
        )
        procrastinate_app.configure_task("predictive.score_open_leads").defer(model_id=stored.pk)
    logger.info("predictive model %s trained on %s rows: AUC %.3f", stored.pk, gate.rows, evaluation.model.auc)
    return stored


def request_training(*, actor: User) -> bool:
    """Queue a training run ("Train now"). False when one is already queued."""
    if not can_train(actor):
        raise exceptions.NotAllowed("Only admins and marketing can train the predictive model.")
    try:
        # A savepoint: the queueing lock's unique violation must not abort the caller's transaction.
        with transaction.atomic():
            procrastinate_app.configure_task("predictive.train", queueing_lock="predictive.train").defer(
                actor_id=actor.pk
            )
    except procrastinate_exceptions.AlreadyEnqueued:
        return False
    return True


@dataclass(frozen=True)
class ImportResult:
    source_file: str
    rows: int
    won: int
    skipped: int
    replaced: int
    personal_columns: list[str] = field(default_factory=list)  # identity columns, not stored


def import_outcomes(
    *, lines: Iterable[str], source_file: str, target: str, positive: str | None = None,
    mapping: Mapping[str, str] | None = None, drop: Iterable[str] = (), actor_id: int | None = None,
) -> ImportResult:  # fmt: skip
    """Store the closed leads of an old CRM's CSV as training outcomes (all or nothing).

    ``target`` names the won/lost column, ``positive`` its "won" value; ``mapping`` renames CSV columns
    to Embudo's lead features (``Country`` → ``country``) so live leads and history share columns.
    Importing a file with the same name again replaces the earlier import."""
    try:
        data = domain_dataset.read_csv(lines, target=target, positive=positive, drop=list(drop), mapping=mapping,
                                       source=source_file)  # fmt: skip
    except domain_dataset.DatasetError as exc:
        raise exceptions.InvalidOutcomeFile(str(exc), fields={"file": [str(exc)]}) from exc
    now = clock.now()
    with transaction.atomic():
        replaced, _ = HistoricalOutcome.objects.filter(source_file=source_file).delete()
        HistoricalOutcome.objects.bulk_create(
            (HistoricalOutcome(features=row, won=bool(label), source_file=source_file, imported_at=now,
                               imported_by_id=actor_id)
             for row, label in zip(data.rows, data.labels, strict=True)),
            batch_size=2000,
        )  # fmt: skip
    return ImportResult(source_file=source_file, rows=len(data.rows), won=data.positives, skipped=data.skipped,
                        replaced=replaced, personal_columns=data.personal_columns)  # fmt: skip


def delete_imported(*, source_file: str) -> int:
    deleted, _ = HistoricalOutcome.objects.filter(source_file=source_file).delete()
    return deleted


def score_open_leads(*, model_id: int | None = None, chunk: int = selectors.CHUNK) -> int:
    """Store the active model's probability for every open lead (keyset chunks, one upsert per chunk),
    then drop predictions from other models (leads that closed since). Returns leads scored.

    Stops quietly when ``model_id`` is given and is no longer the active model (a newer run took over)."""
    active = selectors.get_active_model()
    if active is None or (model_id is not None and active.pk != model_id):
        return 0
    trained = selectors.load_trained(active.pk)
    if trained is None:  # pragma: no cover - the row was just read
        return 0
    scored = 0
    for ids, rows in selectors.open_lead_chunks(chunk=chunk):
        probabilities = [round(float(p), 5) for p in trained.predict(rows)]
        now = clock.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO predictive_leadprediction (lead_id, probability, model_id, scored_at)
                   SELECT t.lead_id, t.probability, %s, %s
                   FROM unnest(%s::bigint[], %s::float8[]) AS t(lead_id, probability)
                   JOIN leads_lead l ON l.id = t.lead_id
                   ON CONFLICT (lead_id) DO UPDATE
                   SET probability = EXCLUDED.probability, model_id = EXCLUDED.model_id,
                       scored_at = EXCLUDED.scored_at""",
                [active.pk, now, ids, probabilities],
            )
        scored += len(ids)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM predictive_leadprediction WHERE model_id <> %s", [active.pk])
    return scored
