"""Reads of predictive scoring: training data (set-based SQL), the gate, the active model, predictions."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from embudo.leads import condition_fields
from embudo.predictive.domain import features
from embudo.predictive.domain import model as domain_model
from embudo.predictive.labels import feature_label
from embudo.predictive.models import HistoricalOutcome, LeadPrediction, ModelStatus, PredictiveModel

# The minimum-data gate: below it there is no model and scoring uses the rules only.
MIN_OUTCOMES = 200
MIN_PER_CLASS = 30
# Leads per round trip when reading features in bulk.
CHUNK = 5000

_WON = "(l.outcome = 'won' OR (l.outcome = '' AND l.lifecycle_stage = 'customer'))"
_LOST = "(l.outcome = 'lost' OR (l.outcome = '' AND l.lifecycle_stage = 'disqualified'))"
# Lead and company columns the model reads (plain values; see domain.features.lead_features).
_LEAD_COLUMNS = f"""
    l.id, l.country, l.language, l.source, l.email_domain_kind, l.job_title,
    COALESCE(c.industry, '') AS company_industry, COALESCE(c.size, '') AS company_size,
    COALESCE(c.country, '') AS company_country,
    (l.bant_budget <> '')::int + (l.bant_authority <> '')::int + (l.bant_need <> '')::int
        + (l.bant_timing <> '')::int AS bant_known,
    CASE WHEN {_WON} THEN 1 WHEN {_LOST} THEN 0 END AS label,
    COALESCE(l.closed_at, CASE WHEN l.lifecycle_stage IN ('customer', 'disqualified')
                               THEN l.lifecycle_changed_at END) AS cutoff
    FROM {condition_fields.FROM_SQL}
"""
# Leads with a known outcome: won/lost, or a customer / disqualified lifecycle stage.
_CLOSED = "(l.outcome <> '' OR l.lifecycle_stage IN ('customer', 'disqualified'))"


@dataclass(frozen=True)
class Gate:
    rows: int
    won: int
    lost: int

    @property
    def passed(self) -> bool:
        return self.rows >= MIN_OUTCOMES and self.won >= MIN_PER_CLASS and self.lost >= MIN_PER_CLASS

    @property
    def min_rows(self) -> int:
        return MIN_OUTCOMES

    @property
    def min_per_class(self) -> int:
        return MIN_PER_CLASS


@dataclass
class TrainingData:
    rows: list[dict[str, Any]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    live: int = 0
    imported: int = 0


@dataclass(frozen=True)
class Prediction:
    lead_id: int
    probability: float
    up: list[domain_model.Factor]
    down: list[domain_model.Factor]
    model_id: int
    trained_at: datetime

    @property
    def percent(self) -> int:
        return round(100 * self.probability)


def _fetch(sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def activity_counts(leads: Sequence[tuple[int, datetime | None]]) -> dict[int, dict[str, int]]:
    """Behaviour events per type for many leads in one query, counting only events before each lead's
    cutoff (its close: later activity would leak the outcome)."""
    if not leads:
        return {}
    ids = [lead_id for lead_id, _ in leads]
    cutoffs = [cutoff for _, cutoff in leads]
    sql = """
        SELECT e.lead_id, e.type, count(*)
        FROM unnest(%s::bigint[], %s::timestamptz[]) AS t(lead_id, cutoff)
        JOIN core_domainevent e ON e.lead_id = t.lead_id
        WHERE e.type LIKE 'activity.%%' AND (t.cutoff IS NULL OR e.occurred_at < t.cutoff)
        GROUP BY e.lead_id, e.type
    """
    result: dict[int, dict[str, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids, cutoffs])
        for lead_id, event_type, count in cursor.fetchall():
            result[lead_id][event_type] = count
    return result


def _lead_feature_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = activity_counts([(r["id"], r["cutoff"]) for r in records])
    return [features.lead_features(r, counts.get(r["id"], {})) for r in records]


def training_data() -> TrainingData:
    """Every known outcome: closed leads (fit + behaviour before the close) and imported history.

    Reads leads in keyset chunks of ``CHUNK``: two queries per chunk, whatever the number of leads."""
    data = TrainingData()
    after = 0
    while True:
        records = _fetch(f"SELECT {_LEAD_COLUMNS} WHERE {_CLOSED} AND l.id > %s ORDER BY l.id LIMIT %s", [after, CHUNK])
        if not records:
            break
        after = records[-1]["id"]
        data.rows += _lead_feature_rows(records)
        data.labels += [int(r["label"]) for r in records]
        data.live += len(records)
    for features_json, won in HistoricalOutcome.objects.values_list("features", "won").iterator(chunk_size=CHUNK):
        data.rows.append(dict(features_json))
        data.labels.append(int(won))
        data.imported += 1
    return data


def gate_message(gate: Gate) -> str:
    """Where the minimum-data gate stands, for people (translated)."""
    values = {"min_rows": gate.min_rows, "min_class": gate.min_per_class, "rows": gate.rows, "won": gate.won,
              "lost": gate.lost}  # fmt: skip
    if gate.passed:
        return _("%(rows)s closed leads (%(won)s won, %(lost)s lost): enough to train the model.") % values
    return (
        _(
            "Predictive scoring needs at least %(min_rows)s closed leads with at least %(min_class)s won and "
            "%(min_class)s lost; there are %(rows)s (%(won)s won, %(lost)s lost). Scoring uses the rules only "
            "until then."
        )
        % values
    )


def gate() -> Gate:
    """How many outcomes there are to learn from (two counting queries)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FILTER (WHERE {_WON}), count(*) FILTER (WHERE {_LOST})
                FROM leads_lead l WHERE {_CLOSED}"""  # noqa: S608 - constant SQL
        )
        row = cursor.fetchone()
        won, lost = (int(row[0]), int(row[1])) if row else (0, 0)
        cursor.execute(
            "SELECT count(*) FILTER (WHERE won), count(*) FILTER (WHERE NOT won) FROM predictive_historicaloutcome"
        )
        row = cursor.fetchone()
        if row:
            won, lost = won + int(row[0]), lost + int(row[1])
    return Gate(rows=won + lost, won=won, lost=lost)


def open_lead_chunks(*, chunk: int = CHUNK) -> Any:
    """Yield (lead ids, feature rows) for every open lead, in keyset chunks."""
    after = 0
    while True:
        records = _fetch(
            f"SELECT {_LEAD_COLUMNS} WHERE NOT {_CLOSED} AND l.id > %s ORDER BY l.id LIMIT %s", [after, chunk]
        )
        if not records:
            return
        after = records[-1]["id"]
        yield [int(r["id"]) for r in records], _lead_feature_rows(records)


def lead_feature_row(lead_id: int) -> dict[str, Any] | None:
    records = _fetch(f"SELECT {_LEAD_COLUMNS} WHERE l.id = %s", [lead_id])
    if not records:
        return None
    records[0]["cutoff"] = None  # a prediction looks at everything the lead did
    return _lead_feature_rows(records)[0]


def get_active_model() -> PredictiveModel | None:
    return PredictiveModel.objects.filter(status=ModelStatus.ACTIVE).defer("blob").first()


def list_models(limit: int = 10) -> list[PredictiveModel]:
    return list(PredictiveModel.objects.defer("blob")[:limit])


_cache_lock = threading.Lock()
_cache: dict[int, domain_model.TrainedModel] = {}


def load_trained(model_id: int) -> domain_model.TrainedModel | None:
    """The trained model, unpickled once per process (keyed by id: a new model is a new id)."""
    with _cache_lock:
        cached = _cache.get(model_id)
    if cached is not None:
        return cached
    blob = PredictiveModel.objects.filter(pk=model_id).values_list("blob", flat=True).first()
    if blob is None:
        return None
    trained = domain_model.loads(bytes(blob))
    with _cache_lock:
        _cache.clear()  # keep one: the active model
        _cache[model_id] = trained
    return trained


def prediction_for(lead_id: int) -> Prediction | None:
    """The lead's conversion probability and top factors from the active model, or None without a model
    (or lead). Computed now, from the lead's current fit and all its behaviour: 3 queries once warm."""
    active = PredictiveModel.objects.filter(status=ModelStatus.ACTIVE).values_list("pk", "trained_at").first()
    if active is None:
        return None
    model_id, trained_at = active
    row = lead_feature_row(lead_id)
    trained = load_trained(model_id)
    if row is None or trained is None:
        return None
    probability, up, down = trained.explain(row)
    return Prediction(lead_id=lead_id, probability=probability, up=up, down=down, model_id=model_id,
                      trained_at=trained_at)  # fmt: skip


def stored_predictions(lead_ids: Sequence[int]) -> dict[int, float]:
    """Batch-scored probabilities for lists (lead id → probability)."""
    return dict(LeadPrediction.objects.filter(lead_id__in=list(lead_ids)).values_list("lead_id", "probability"))


def count_imported() -> list[dict[str, Any]]:
    """Imported outcome files: rows and won per file, newest first."""
    return _fetch(
        """SELECT source_file, count(*) AS rows, count(*) FILTER (WHERE won) AS won, max(imported_at) AS imported_at
           FROM predictive_historicaloutcome GROUP BY source_file ORDER BY max(imported_at) DESC""",
        [],
    )


def prediction_display(lead_id: int) -> dict[str, Any]:
    """The context of ``predictive/_lead_prediction.html``: ``prediction`` (or None, with ``gate_message``
    saying why) and its factors with labels and signed percentage points (``up``, ``down``)."""
    prediction = prediction_for(lead_id)
    if prediction is None:
        return {"prediction": None, "gate_message": gate_message(gate())}

    def shown(factors: list[domain_model.Factor]) -> list[dict[str, Any]]:
        return [{"label": feature_label(f.feature), "value": f.value, "points": round(100 * f.delta, 1)}
                for f in factors]  # fmt: skip

    return {"prediction": prediction, "up": shown(prediction.up), "down": shown(prediction.down)}
