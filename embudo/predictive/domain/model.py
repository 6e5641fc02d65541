"""The conversion model: gradient-boosted trees with native categories, probabilities calibrated.

``fit`` trains a ``HistGradientBoostingClassifier`` inside ``CalibratedClassifierCV`` (isotonic with
enough rows, sigmoid below), ``evaluate`` trains on one set and measures on another, next to the
naive-Bayes baseline fitted on the same rows. Per-row factors: how much the probability moves when a
feature is replaced by its typical value (median / most frequent category).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]
from sklearn.model_selection import StratifiedKFold, train_test_split  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from embudo.predictive.domain import metrics
from embudo.predictive.domain.baseline import NaiveBayes
from embudo.predictive.domain.features import Row, Schema, encode, infer_schema

MODEL_KIND = "hist_gradient_boosting+calibration"
# Below this many rows isotonic calibration overfits; Platt (sigmoid) is steadier.
ISOTONIC_MIN_ROWS = 5000
# Never claim certainty: isotonic steps can reach 0 or 1 on a small top or bottom bin.
PROBABILITY_FLOOR = 0.001
# OpenMP threads pay off only on big fits; on small matrices (and on a busy machine) they mostly spin.
PARALLEL_MIN_ROWS = 20_000


def _threads(rows: int) -> Any:
    return threadpool_limits(limits=None if rows >= PARALLEL_MIN_ROWS else 1, user_api="openmp")


@dataclass(frozen=True)
class Factor:
    feature: str
    value: str
    delta: float  # probability change versus the typical value, e.g. +0.12

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "value": self.value, "delta": round(self.delta, 4)}


@dataclass
class TrainedModel:
    schema: Schema
    estimator: Any
    kind: str = MODEL_KIND
    params: dict[str, Any] = field(default_factory=dict)

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        if len(matrix) == 0:
            return np.empty(0)
        with _threads(len(matrix)):
            probabilities = np.asarray(self.estimator.predict_proba(matrix)[:, 1], dtype=np.float64)
        return np.clip(probabilities, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)

    def predict(self, rows: Sequence[Row]) -> np.ndarray:
        return self.predict_matrix(encode(rows, self.schema))

    def _replaced(self, row: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """One copy of ``row`` per feature that differs from its typical value, with that feature reset."""
        changed = [
            j for j, c in enumerate(self.schema.columns)
            if not (row[j] == c.baseline or (math.isnan(row[j]) and math.isnan(c.baseline)))
        ]  # fmt: skip
        copies = np.repeat(row[None, :], len(changed), axis=0)
        for n, j in enumerate(changed):
            copies[n, j] = self.schema.columns[j].baseline
        return copies, changed

    def explain(self, row: Row, *, top: int = 3) -> tuple[float, list[Factor], list[Factor]]:
        """The probability and the ``top`` factors raising and lowering it."""
        encoded = encode([row], self.schema)[0]
        copies, changed = self._replaced(encoded)
        predictions = self.predict_matrix(np.vstack([encoded[None, :], copies]))
        probability = float(predictions[0])
        factors = [
            Factor(self.schema.columns[j].name, self.schema.columns[j].display(encoded[j]), probability - float(p))
            for j, p in zip(changed, predictions[1:], strict=True)
        ]
        up = sorted((f for f in factors if f.delta > 0.0005), key=lambda f: -f.delta)[:top]
        down = sorted((f for f in factors if f.delta < -0.0005), key=lambda f: f.delta)[:top]
        return probability, up, down

    def importances(self, matrix: np.ndarray, *, sample: int = 300, seed: int = 0) -> dict[str, float]:
        """Mean absolute probability change when each feature is reset to its typical value, over a sample."""
        if len(matrix) > sample:
            matrix = matrix[np.random.default_rng(seed).choice(len(matrix), sample, replace=False)]
        base = self.predict_matrix(matrix)
        result: dict[str, float] = {}
        for j, column in enumerate(self.schema.columns):
            reset = matrix.copy()
            reset[:, j] = column.baseline
            result[column.name] = float(np.mean(np.abs(base - self.predict_matrix(reset))))
        return dict(sorted(result.items(), key=lambda item: -item[1]))


def _estimator(schema: Schema, rows: int, minority: int, seed: int) -> tuple[Any, dict[str, Any]]:
    large = rows >= 2000
    params: dict[str, Any] = {
        "learning_rate": 0.05 if large else 0.1,
        "max_iter": 500 if large else 100,
        "max_leaf_nodes": 31 if large else 8,
        "min_samples_leaf": 40 if large else max(5, rows // 40),
        "l2_regularization": 1.0,
        "early_stopping": large,
        "random_state": seed,
    }
    if large:
        params |= {"validation_fraction": 0.15, "n_iter_no_change": 30, "scoring": "loss"}
    mask = schema.categorical_mask
    trees = HistGradientBoostingClassifier(categorical_features=mask if any(mask) else None, **params)
    method = "isotonic" if rows >= ISOTONIC_MIN_ROWS else "sigmoid"
    folds = max(2, min(5, minority))
    calibrated = CalibratedClassifierCV(
        trees, method=method, cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    )
    return calibrated, {**params, "calibration": method, "folds": folds}


def fit(rows: Sequence[Row], labels: Sequence[int], *, schema: Schema | None = None, seed: int = 42) -> TrainedModel:
    """Train on ``rows`` (plain dicts) and 0/1 ``labels``; the schema is inferred from the rows if not given."""
    y = np.asarray(labels, dtype=np.int8)
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        raise ValueError("training needs both outcomes")
    schema = schema or infer_schema(rows)
    if not schema.columns:
        raise ValueError("no usable feature columns")
    estimator, params = _estimator(schema, len(y), min(positives, len(y) - positives), seed)
    with _threads(len(y)):
        estimator.fit(encode(rows, schema), y)
    return TrainedModel(schema=schema, estimator=estimator, params=params)


@dataclass(frozen=True)
class Scores:
    auc: float
    log_loss: float
    brier: float
    calibration: list[metrics.CalibrationBin]

    @classmethod
    def of(cls, labels: Sequence[int] | np.ndarray, probabilities: np.ndarray) -> Scores:
        return cls(
            auc=metrics.auc(labels, probabilities),
            log_loss=metrics.log_loss(labels, probabilities),
            brier=metrics.brier(labels, probabilities),
            calibration=metrics.calibration_bins(labels, probabilities),
        )


@dataclass(frozen=True)
class Evaluation:
    model: Scores
    baseline: Scores
    rows_train: int
    rows_test: int
    trained: TrainedModel

    def as_json(self) -> dict[str, Any]:
        """The documented ``--json`` shape of ``embudo scoring evaluate``."""
        return {
            "model": {"auc": round(self.model.auc, 4), "log_loss": round(self.model.log_loss, 4)},
            "baseline": {"auc": round(self.baseline.auc, 4), "log_loss": round(self.baseline.log_loss, 4)},
            "rows_train": self.rows_train,
            "rows_test": self.rows_test,
        }


def evaluate(
    train_rows: Sequence[Row], train_labels: Sequence[int], test_rows: Sequence[Row], test_labels: Sequence[int],
    *, seed: int = 42,
) -> Evaluation:  # fmt: skip
    """Fit the model and the naive-Bayes baseline on the training rows; score both on the test rows."""
    if len({int(v) for v in test_labels}) < 2:
        raise ValueError("the test set needs both outcomes")
    trained = fit(train_rows, train_labels, seed=seed)
    baseline = NaiveBayes(trained.schema).fit(train_rows, train_labels)
    return Evaluation(
        model=Scores.of(test_labels, trained.predict(test_rows)),
        baseline=Scores.of(test_labels, baseline.predict_proba(test_rows)),
        rows_train=len(train_rows),
        rows_test=len(test_rows),
        trained=trained,
    )


def split(
    rows: Sequence[Row], labels: Sequence[int], *, test_share: float = 0.25, seed: int = 42
) -> tuple[list[Row], list[int], list[Row], list[int]]:
    """A stratified train/test split of rows and labels."""
    index = np.arange(len(rows))
    train_index, test_index = train_test_split(index, test_size=test_share, stratify=list(labels), random_state=seed)
    return (
        [rows[i] for i in train_index], [int(labels[i]) for i in train_index],
        [rows[i] for i in test_index], [int(labels[i]) for i in test_index],
    )  # fmt: skip


# Trust boundary: pickle runs code on load. Only bytes this process family wrote to our own database
# (PredictiveModel.blob) are ever loaded; never accept a model file from users or the network.
def dumps(model: TrainedModel) -> bytes:
    return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)


def loads(blob: bytes) -> TrainedModel:
    model = pickle.loads(blob)  # noqa: S301 - our own bytes, see the trust boundary above
    if not isinstance(model, TrainedModel):
        raise TypeError("not a TrainedModel")
    return model
