"""The baseline: naive Bayes in the style of Odoo's predictive lead scoring.

Per field, how often each value appears among won and among lost rows (Laplace-smoothed), multiplied
across fields with the prior; numeric fields are bucketed by the training quantiles. Missing is a value
of its own. Fast, readable, and what the gradient-boosted model has to beat.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from embudo.predictive.domain.features import Row, Schema, as_number, is_missing

BUCKETS = 10
MISSING = "\x00missing"
UNSEEN = "\x00unseen"


@dataclass
class NaiveBayes:
    schema: Schema
    alpha: float = 1.0
    prior_log_odds: float = 0.0
    edges: dict[str, list[float]] = field(default_factory=dict)
    # column → value → (log P(value | won) - log P(value | lost))
    log_ratios: dict[str, dict[str, float]] = field(default_factory=dict)

    def _value(self, name: str, raw: object) -> str:
        if is_missing(raw):
            return MISSING
        edges = self.edges.get(name)
        if edges is None:
            return str(raw).strip()
        number = as_number(raw)
        if number is None:
            return MISSING
        return f"b{int(np.searchsorted(edges, number, side='right'))}"

    def fit(self, rows: Sequence[Row], labels: Sequence[int]) -> NaiveBayes:
        won = sum(1 for y in labels if y)
        lost = len(labels) - won
        if won == 0 or lost == 0:
            raise ValueError("naive Bayes needs both classes")
        self.prior_log_odds = math.log(won / lost)
        for column in self.schema.columns:
            if column.kind == "numeric":
                numbers = [n for n in (as_number(r.get(column.name)) for r in rows) if n is not None]
                qs = np.quantile(numbers, np.linspace(0, 1, BUCKETS + 1)[1:-1]) if numbers else np.array([])
                self.edges[column.name] = sorted({float(q) for q in qs})
            counts: dict[int, Counter[str]] = {0: Counter(), 1: Counter()}
            for row, y in zip(rows, labels, strict=True):
                counts[1 if y else 0][self._value(column.name, row.get(column.name))] += 1
            values = set(counts[0]) | set(counts[1]) | {UNSEEN}
            k = len(values)
            self.log_ratios[column.name] = {
                v: math.log((counts[1][v] + self.alpha) / (won + self.alpha * k))
                - math.log((counts[0][v] + self.alpha) / (lost + self.alpha * k))
                for v in values
            }
        return self

    def predict_proba(self, rows: Sequence[Row]) -> np.ndarray:
        result = np.empty(len(rows), dtype=np.float64)
        for i, row in enumerate(rows):
            log_odds = self.prior_log_odds
            for name, ratios in self.log_ratios.items():
                value = self._value(name, row.get(name))
                log_odds += ratios.get(value, ratios[UNSEEN])
            result[i] = _sigmoid(log_odds)
        return result


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)
