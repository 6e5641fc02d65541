"""Ranking and calibration metrics for binary outcomes (labels 0/1, probabilities in [0, 1])."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

EPSILON = 1e-15


def auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve: the chance a random positive outranks a random negative (ties count half).

    Raises ValueError when only one class is present (the AUC is undefined)."""
    y = np.asarray(labels, dtype=np.int8)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape:
        raise ValueError("labels and scores differ in length")
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("the AUC needs both classes")
    # Mann-Whitney U with average ranks for ties.
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_scores = s[order]
    i = 0
    n = len(s)
    while i < n:
        j = i
        while j + 1 < n and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_sum = float(ranks[y == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def log_loss(labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray) -> float:
    """Mean negative log-likelihood (natural log), probabilities clipped away from 0 and 1."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), EPSILON, 1 - EPSILON)
    if len(y) == 0:
        raise ValueError("no rows")
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def brier(labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray) -> float:
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    return float(np.mean((p - y) ** 2))


@dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    count: int
    predicted: float  # mean predicted probability in the bin
    observed: float  # share of positives in the bin

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def calibration_bins(
    labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray, *, bins: int = 10
) -> list[CalibrationBin]:
    """Equal-width probability bins (empty bins left out): mean prediction vs observed rate."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    index = np.minimum((p * bins).astype(int), bins - 1)
    result = []
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        if count == 0:
            continue
        result.append(
            CalibrationBin(
                lower=b / bins,
                upper=(b + 1) / bins,
                count=count,
                predicted=float(p[mask].mean()),
                observed=float(y[mask].mean()),
            )
        )
    return result


def expected_calibration_error(bins: Sequence[CalibrationBin]) -> float:
    total = sum(b.count for b in bins)
    if total == 0:
        return math.nan
    return sum(b.count * abs(b.predicted - b.observed) for b in bins) / total
