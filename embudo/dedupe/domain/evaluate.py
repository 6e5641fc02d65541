"""Evaluation of blocking + comparison against labelled duplicate pairs, and weight fitting.

Precision and recall are over *pairs*: a true pair that blocking never proposes is a miss.
The CSV helpers take rows (mappings), so the file handling stays in the command.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields

from embudo.dedupe.domain import blocking
from embudo.dedupe.domain.compare import (
    AUTO_MERGE,
    DEFAULT_WEIGHTS,
    PRIOR,
    REVIEW,
    Prepared,
    Record,
    Weights,
    compare,
    compare_if_above,
    field_levels,
    prepare,
)

LEAD_FIELDS = tuple(f.name for f in fields(Record) if f.name != "id")

Pair = tuple[str, str]


def pair_key(a: str, b: str) -> Pair:
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True, slots=True)
class Metrics:
    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, predicted: set[Pair], truth: set[Pair]) -> Metrics:
        hits = len(predicted & truth)
        precision = hits / len(predicted) if predicted else 1.0
        recall = hits / len(truth) if truth else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(round(precision, 4), round(recall, 4), round(f1, 4))

    def as_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True, slots=True)
class Evaluation:
    auto_merge: Metrics
    review: Metrics
    pairs_compared: int
    seconds: float
    blocking_recall: float
    scores: Mapping[Pair, float]

    def as_dict(self) -> dict[str, object]:
        """The published shape: ``{"auto_merge": {...}, "review": {...}, "pairs_compared", "seconds"}``."""
        return {
            "auto_merge": self.auto_merge.as_dict(),
            "review": self.review.as_dict(),
            "pairs_compared": self.pairs_compared,
            "seconds": self.seconds,
        }


def evaluate(
    records: Sequence[Record],
    truth: Iterable[Pair],
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    prior: float = PRIOR,
    auto_merge: float = AUTO_MERGE,
    review: float = REVIEW,
) -> Evaluation:
    """Block, compare and score every candidate pair; metrics at both thresholds (timed end to end)."""
    true_pairs = {pair_key(a, b) for a, b in truth if a != b}
    started = time.perf_counter()
    prepared = [prepare(r) for r in records]
    scores: dict[Pair, float] = {}
    for a, b in blocking.candidate_pairs(prepared):
        scores[(a.id, b.id)] = compare(a, b, weights, prior).score
    seconds = time.perf_counter() - started
    at_auto = {pair for pair, score in scores.items() if score >= auto_merge}
    at_review = {pair for pair, score in scores.items() if score >= review}
    blocked = len(true_pairs & scores.keys()) / len(true_pairs) if true_pairs else 1.0
    return Evaluation(
        auto_merge=Metrics.of(at_auto, true_pairs),
        review=Metrics.of(at_review, true_pairs),
        pairs_compared=len(scores),
        seconds=round(seconds, 3),
        blocking_recall=round(blocked, 4),
        scores=scores,
    )


def fit_weights(records: Sequence[Record], truth: Iterable[Pair], *, smoothing: float = 1.0) -> tuple[Weights, float]:
    """Supervised Fellegi–Sunter estimate over candidate pairs: ``log2(m/u)`` per field level, and the prior.

    ``m`` (``u``) is the share of true (false) candidate pairs at that level, add-``smoothing``
    smoothed; the prior is ``log2(true / false)`` among candidate pairs. Levels never seen in
    either class keep the default weight.
    """
    true_pairs = {pair_key(a, b) for a, b in truth if a != b}
    prepared: list[Prepared] = [prepare(r) for r in records]
    m_counts: Counter[tuple[str, str]] = Counter()
    u_counts: Counter[tuple[str, str]] = Counter()
    n_match = n_non = 0
    for a, b in blocking.candidate_pairs(prepared):
        is_match = (a.id, b.id) in true_pairs
        n_match += is_match
        n_non += not is_match
        target = m_counts if is_match else u_counts
        for reason in field_levels(a, b):
            target[(reason.field, reason.level)] += 1
    fitted: dict[str, dict[str, float]] = {}
    for field_name, levels in DEFAULT_WEIGHTS.items():
        k = len(levels) + 1
        fitted[field_name] = {}
        for level, default in levels.items():
            m, u = m_counts[(field_name, level)], u_counts[(field_name, level)]
            if not m and not u:
                fitted[field_name][level] = default
                continue
            m_share = (m + smoothing) / (n_match + smoothing * k)
            u_share = (u + smoothing) / (n_non + smoothing * k)
            fitted[field_name][level] = round(math.log2(m_share / u_share), 2)
    prior = round(math.log2(max(n_match, 1) / max(n_non, 1)), 2)
    return fitted, prior


# --- CSV rows ---------------------------------------------------------------------------------


def column_mapping(columns: Sequence[str], overrides: Mapping[str, str]) -> dict[str, str]:
    """CSV column -> lead field: same-named columns map themselves, ``overrides`` win, others are ignored."""
    unknown = sorted(set(overrides.values()) - set(LEAD_FIELDS))
    if unknown:
        raise ValueError(f"Unknown lead field(s): {', '.join(unknown)}. Lead fields: {', '.join(LEAD_FIELDS)}.")
    missing = sorted(set(overrides) - set(columns))
    if missing:
        raise ValueError(f"Column(s) not in the file: {', '.join(missing)}.")
    mapping = {c: c for c in columns if c in LEAD_FIELDS and c not in overrides.values()}
    mapping.update(overrides)
    return mapping


def records_from_rows(
    rows: Iterable[Mapping[str, str | None]], *, id_column: str, mapping: Mapping[str, str]
) -> list[Record]:
    """Records from CSV rows; several columns mapped to one field are joined with a space."""
    records = []
    for n, row in enumerate(rows, start=1):
        if id_column not in row:
            raise ValueError(f"No id column {id_column!r} in the file.")
        values: dict[str, str] = {}
        for column, field_name in mapping.items():
            value = (row.get(column) or "").strip()
            if value:
                values[field_name] = f"{values[field_name]} {value}" if field_name in values else value
        record_id = (row.get(id_column) or "").strip()
        if not record_id:
            raise ValueError(f"Row {n} has no id.")
        records.append(Record(id=record_id, **values))
    return records


def truth_from_rows(rows: Iterable[Sequence[str]]) -> set[Pair]:
    """Truth pairs from rows of two ids (a header row whose ids are not in the data is harmless)."""
    pairs = set()
    for row in rows:
        cells = [c.strip() for c in row if c and c.strip()]
        if len(cells) >= 2 and cells[0] != cells[1]:
            pairs.add(pair_key(cells[0], cells[1]))
    return pairs


# --- replays of the production candidate rules --------------------------------------------------


def ranked_candidates(
    records: Sequence[Prepared], *, per_record: int | None, max_block_size: int, count_all: bool = False
) -> list[list[tuple[int, int]]]:
    """Per record (in order), the earlier records the production SQL would pair it with, best first.

    The rule of ``selectors.candidate_query`` (intake) and of the background scan: earlier records
    sharing blocking keys, ranked by how many keys they share, then the most recent first; at most
    ``per_record`` of them (``None``: all). Keys held by ``max_block_size`` records or more are
    ignored: counted among the earlier records (intake: the stored leads) or, with ``count_all``, among
    all records (the scan's common keys). Each entry is ``(earlier index, shared keys)``.
    """
    keys = [blocking.blocking_keys(p) for p in records]
    totals: Counter[str] = Counter(k for ks in keys for k in ks) if count_all else Counter()
    blocks: dict[str, list[int]] = {}
    out: list[list[tuple[int, int]]] = []
    for i, ks in enumerate(keys):
        shared: Counter[int] = Counter()
        for key in ks:
            members = blocks.get(key, [])
            size = totals[key] if count_all else len(members)
            if size < max_block_size:
                shared.update(members)
        ranked = sorted(shared.items(), key=lambda item: (-item[1], -item[0]))
        out.append(ranked if per_record is None else ranked[:per_record])
        for key in ks:
            blocks.setdefault(key, []).append(i)
    return out


@dataclass(frozen=True, slots=True)
class LinkEvaluation:
    """Intake replayed: each record, in order, linked to its best earlier candidate (if any scores).

    Precision: of the records linked at a threshold, the share linked to one of their duplicates.
    Recall: of the records with an earlier duplicate, the share linked to one at that threshold.
    """

    auto_merge: Metrics
    review: Metrics
    records_with_earlier_duplicate: int
    mean_candidates: float
    mean_compared: float

    def as_dict(self) -> dict[str, object]:
        return {"auto_merge": self.auto_merge.as_dict(), "review": self.review.as_dict(),
                "records_with_earlier_duplicate": self.records_with_earlier_duplicate,
                "mean_candidates": self.mean_candidates, "mean_compared": self.mean_compared}  # fmt: skip


def _link_metrics(links: list[tuple[bool, float]], expected: int, threshold: float) -> Metrics:
    linked = [true for true, score in links if score >= threshold]
    hits = sum(linked)
    precision = hits / len(linked) if linked else 1.0
    recall = hits / expected if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Metrics(round(precision, 4), round(recall, 4), round(f1, 4))


def evaluate_intake(
    records: Sequence[Record], truth: Iterable[Pair], *, candidates: int | None, max_block_size: int,
    bounded: bool = True, auto_merge: float = AUTO_MERGE, review: float = REVIEW,
) -> LinkEvaluation:  # fmt: skip
    """Replay intake over ``records`` in order: candidates by :func:`ranked_candidates` (at most
    ``candidates``), the best at or above review kept, as ``selectors.best_of`` does (``bounded``: with
    the cheap first pass, else every candidate fully compared)."""
    true_pairs = {pair_key(a, b) for a, b in truth if a != b}
    prepared = [prepare(r) for r in records]
    ranked = ranked_candidates(prepared, per_record=candidates, max_block_size=max_block_size)
    seen: set[str] = set()
    partners: dict[str, set[str]] = {}
    for a, b in true_pairs:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    links: list[tuple[bool, float]] = []
    expected = fetched = compared = 0
    for i, incoming in enumerate(prepared):
        expected += bool(partners.get(incoming.id, set()) & seen)
        seen.add(incoming.id)
        best: tuple[str, float] | None = None
        for j, _shared in ranked[i]:
            fetched += 1
            if bounded:
                floor, strictly = (review, False) if best is None else (max(review, best[1]), True)
                result = compare_if_above(incoming, prepared[j], floor, strictly=strictly)
            else:
                result = compare(incoming, prepared[j])
            if result is None:
                continue
            compared += 1
            if result.score >= review and (best is None or result.score > best[1]):
                best = (prepared[j].id, result.score)
        if best is not None:
            links.append((pair_key(incoming.id, best[0]) in true_pairs, best[1]))
    n = max(len(prepared), 1)
    return LinkEvaluation(
        auto_merge=_link_metrics(links, expected, auto_merge), review=_link_metrics(links, expected, review),
        records_with_earlier_duplicate=expected, mean_candidates=round(fetched / n, 2),
        mean_compared=round(compared / n, 2),
    )  # fmt: skip


def evaluate_scan(
    records: Sequence[Record],
    truth: Iterable[Pair],
    *,
    per_record: int | None,
    max_block_size: int,
    auto_merge: float = AUTO_MERGE,
    review: float = REVIEW,
) -> Evaluation:
    """Replay the background scan over ``records`` in order: each record compared with at most
    ``per_record`` earlier records (:func:`ranked_candidates`, common keys counted over all records);
    pair precision and recall of what it queues at each threshold, like :func:`evaluate`."""
    true_pairs = {pair_key(a, b) for a, b in truth if a != b}
    started = time.perf_counter()
    prepared = [prepare(r) for r in records]
    ranked = ranked_candidates(prepared, per_record=per_record, max_block_size=max_block_size, count_all=True)
    scores: dict[Pair, float] = {}
    for i, a in enumerate(prepared):
        for j, _shared in ranked[i]:
            scores[pair_key(a.id, prepared[j].id)] = compare(a, prepared[j]).score
    seconds = time.perf_counter() - started
    blocked = len(true_pairs & scores.keys()) / len(true_pairs) if true_pairs else 1.0
    return Evaluation(
        auto_merge=Metrics.of({p for p, s in scores.items() if s >= auto_merge}, true_pairs),
        review=Metrics.of({p for p, s in scores.items() if s >= review}, true_pairs),
        pairs_compared=len(scores), seconds=round(seconds, 3), blocking_recall=round(blocked, 4), scores=scores,
    )  # fmt: skip
