"""Reads of the dedupe context: candidate retrieval (blocking keys, then the pure matcher), the review
queue, the merge screen and a lead's possible duplicates.

Candidate retrieval at 1M leads (intake budget: ~3 ms p99 for lookup, fetch and scoring together):
exact keys were already tried by intake. Every lead is filed in ``dedupe_leadkey`` under its blocking
keys (``dedupe.domain.blocking.blocking_keys``, hashed to signed 64-bit integers, see :func:`key_hash`).
One SQL statement reads, per key of the incoming lead, at most ``MAX_BLOCK_SIZE`` entries of the
index (one capped index-only scan per key); a key that fills its cap is shared by too many leads to
say anything (a surname like "garcía" with an initial) and is dropped (intake caps at the smaller
``INTAKE_BLOCK_SIZE``); the leads sharing the
remaining keys are ranked by how many they share and only the top ``INTAKE_CANDIDATES`` rows are
fetched, with only the columns the matcher reads. Those are scored in Python: a cheap first pass
(``compare.compare_if_above``: names and the cheap fields exactly, an upper bound for the rest)
skips every candidate that cannot reach the review threshold or beat the best one so far.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from embudo.accounts.models import User
from embudo.dedupe.models import CandidateStatus, DuplicateCandidate, Merge
from embudo.leads import selectors as leads_selectors
from embudo.leads.models import Lead

if TYPE_CHECKING:
    from embudo.dedupe.domain import compare as matcher_types

RECORD_FIELDS = ("id", "first_name", "last_name", "email", "phone", "company_name", "street_address",
                 "address_line2", "city", "postal_code", "region", "country")  # fmt: skip
MAX_CANDIDATES = 50
# Candidates scored at intake: true duplicates share many more keys than strangers do, so they rank
# first. Measured (bench dedupe-intake at 1M leads, and the intake replays of bench dedupe-leads / dedupe):
# 5 and 10 give the same answers as the previous 50 (1M: 99.8% same decision, both), 5 in half the time.
INTAKE_CANDIDATES = 5
# Keys shared by this many stored leads or more are skipped at lookup (see the module docstring);
# intake reads at most INTAKE_BLOCK_SIZE entries per key (the capped reads are most of its query's time).
MAX_BLOCK_SIZE = 300
INTAKE_BLOCK_SIZE = 100
_COLUMNS = ", ".join(f"l.{f}" for f in RECORD_FIELDS)


def _matcher() -> Any:
    from embudo.dedupe.domain import compare  # the pure matcher (imported lazily: no Django, no cost at import)

    return compare


def _blocking() -> Any:
    from embudo.dedupe.domain import blocking

    return blocking


def thresholds() -> tuple[float, float]:
    """(auto-merge, review) score thresholds of the matcher."""
    m = _matcher()
    return float(m.AUTO_MERGE), float(m.REVIEW)


def key_hash(key: str) -> int:
    """A stable signed 64-bit hash of a blocking key (the same in every process and release)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def keys_of(prepared: Any) -> list[int]:
    """The hashed blocking keys of a prepared record, sorted."""
    return sorted({key_hash(k) for k in _blocking().blocking_keys(prepared)})


def prepare(values: Mapping[str, Any], record_id: Any = "") -> Any:
    """The matcher's ``Prepared`` form of lead-shaped ``values``."""
    return _matcher().prepare(_record(values, record_id))


def lead_keys(values: Mapping[str, Any]) -> list[int]:
    """The hashed blocking keys of lead-shaped ``values`` (what ``dedupe_leadkey`` stores for a lead)."""
    return keys_of(prepare(values))


def candidate_query(
    keys: Iterable[int], *, exclude_ids: tuple[int, ...] = (), limit: int = MAX_CANDIDATES,
    block_size: int | None = None,
) -> tuple[str, list[Any]]:  # fmt: skip
    """The SQL returning the stored leads that share most of ``keys`` (at most ``limit`` rows, best first).

    Each key's entries are read once (capped at ``block_size``, default ``MAX_BLOCK_SIZE``): the same
    rows tell whether the key is usable (fewer than the cap) and which leads share it.
    """
    sql = (
        "WITH hits AS MATERIALIZED ("  # noqa: S608 - only constant column names are interpolated
        " SELECT k.key, s.lead_id FROM unnest(%s::bigint[]) AS k(key)"
        " CROSS JOIN LATERAL (SELECT lk.lead_id FROM dedupe_leadkey lk WHERE lk.key = k.key LIMIT %s) AS s),"
        " usable AS (SELECT key FROM hits GROUP BY key HAVING count(*) < %s),"
        " ranked AS ("
        " SELECT h.lead_id, count(*) AS shared FROM hits h"
        " WHERE h.key IN (SELECT key FROM usable) AND NOT h.lead_id = ANY(%s::bigint[])"
        " GROUP BY h.lead_id ORDER BY shared DESC, h.lead_id DESC LIMIT %s)"
        f" SELECT {_COLUMNS} FROM ranked JOIN leads_lead l ON l.id = ranked.lead_id"
        " ORDER BY ranked.shared DESC, l.id DESC LIMIT %s"
    )
    # Ranked with slack: keys of a lead deleted outside the lead services (bulk deletes) drop out in the join.
    cap = MAX_BLOCK_SIZE if block_size is None else block_size
    return sql, [list(keys), cap, cap, list(exclude_ids), limit + limit // 2, limit]


def find_candidates_by_keys(
    keys: Iterable[int], *, exclude_ids: tuple[int, ...] = (), limit: int = MAX_CANDIDATES,
    block_size: int | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """At most ``limit`` stored leads sharing the most of ``keys`` (rows as dicts, best first)."""
    keys = list(keys)
    if not keys:
        return []
    sql, params = candidate_query(keys, exclude_ids=exclude_ids, limit=limit, block_size=block_size)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def find_candidates(values: Mapping[str, Any], *, exclude_ids: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """At most ``MAX_CANDIDATES`` existing leads that share blocking keys with ``values`` (rows as dicts)."""
    return find_candidates_by_keys(lead_keys(values), exclude_ids=exclude_ids)


def _record(values: Mapping[str, Any], record_id: Any = "") -> Any:
    m = _matcher()
    return m.Record(id=str(record_id), **{k: str(values.get(k) or "") for k in RECORD_FIELDS if k != "id"})


@dataclass
class Scored:
    """What scoring a lead's candidates cost: rows fetched and rows fully compared."""

    candidates: int = 0
    compared: int = 0


def best_of(
    incoming: Any, rows: Iterable[Mapping[str, Any]], *, stats: Scored | None = None
) -> tuple[int, matcher_types.Match] | None:
    """(lead id, match) of the best-scoring row for a prepared ``incoming`` at or above review, or None.

    The same answer as comparing every row and keeping the first best one: a row whose cheap upper
    bound cannot reach review, or cannot beat the best so far, is skipped without a full comparison.
    """
    m = _matcher()
    review = float(m.REVIEW)
    best: tuple[int, Any] | None = None
    for row in rows:
        if stats is not None:
            stats.candidates += 1
        floor, strictly = (review, False) if best is None else (max(review, best[1].score), True)
        result = m.compare_if_above(incoming, m.prepare(_record(row, row["id"])), floor, strictly=strictly)
        if result is None:
            continue
        if stats is not None:
            stats.compared += 1
        if result.score >= review and (best is None or result.score > best[1].score):
            best = (int(row["id"]), result)
    return best


def best_match(
    values: Mapping[str, Any], *, exclude_ids: tuple[int, ...] = (), limit: int | None = None,
    stats: Scored | None = None,
) -> tuple[int, matcher_types.Match] | None:  # fmt: skip
    """(lead id, match) of the best-scoring candidate (of ``limit``, default ``INTAKE_CANDIDATES``) at or
    above the review threshold, or None."""
    incoming = prepare(values, values.get("id", ""))
    rows = find_candidates_by_keys(keys_of(incoming), exclude_ids=exclude_ids,
                                   limit=INTAKE_CANDIDATES if limit is None else limit,
                                   block_size=INTAKE_BLOCK_SIZE)  # fmt: skip
    return best_of(incoming, rows, stats=stats)


# ``candidate_query`` for several incoming records at once: every key's entries are read once for the whole
# batch (records of one batch share many keys: first names, companies, cities), then each record's candidates
# are ranked as ``candidate_query`` ranks them (same usable keys, same order, same slack before the join).
_BATCH_CANDIDATES = (
    "WITH pairs AS MATERIALIZED (SELECT * FROM unnest(%s::int[], %s::bigint[]) AS p(item, key)),"  # noqa: S608
    " hits AS MATERIALIZED ("
    " SELECT k.key, s.lead_id FROM (SELECT DISTINCT key FROM pairs) AS k"
    " CROSS JOIN LATERAL (SELECT lk.lead_id FROM dedupe_leadkey lk WHERE lk.key = k.key LIMIT %s) AS s),"
    " usable AS (SELECT key FROM hits GROUP BY key HAVING count(*) < %s),"
    " ranked AS (SELECT item, lead_id, shared,"
    " row_number() OVER (PARTITION BY item ORDER BY shared DESC, lead_id DESC) AS rank"
    " FROM (SELECT p.item, h.lead_id, count(*) AS shared FROM pairs p JOIN hits h ON h.key = p.key"
    " WHERE p.key IN (SELECT key FROM usable) GROUP BY p.item, h.lead_id) AS counted)"
    f" SELECT ranked.item, {_COLUMNS} FROM ranked JOIN leads_lead l ON l.id = ranked.lead_id"
    " WHERE ranked.rank <= %s ORDER BY ranked.item, ranked.shared DESC, l.id DESC"
)


def best_matches(values_list: Sequence[Mapping[str, Any]]) -> list[tuple[int, matcher_types.Match] | None]:
    """``best_match`` (intake's candidates and block size) for each of ``values_list``, with one query."""
    incoming = [prepare(values, values.get("id", "")) for values in values_list]
    items: list[int] = []
    keys: list[int] = []
    for n, record in enumerate(incoming):
        record_keys = keys_of(record)
        items.extend([n] * len(record_keys))
        keys.extend(record_keys)
    rows: list[list[dict[str, Any]]] = [[] for _ in incoming]
    if keys:
        limit = INTAKE_CANDIDATES
        with connection.cursor() as cursor:
            cursor.execute(_BATCH_CANDIDATES, [items, keys, INTAKE_BLOCK_SIZE, INTAKE_BLOCK_SIZE, limit + limit // 2])
            names = [c.name for c in cursor.description][1:]
            for row in cursor.fetchall():
                found = rows[row[0]]
                if len(found) < limit:
                    found.append(dict(zip(names, row[1:], strict=True)))
    return [best_of(record, found) for record, found in zip(incoming, rows, strict=True)]


def reasons_json(match: Any) -> list[dict[str, Any]]:
    return [{"field": r.field, "similarity": round(float(r.similarity), 3), "weight": round(float(r.weight), 3)}
            for r in match.reasons]  # fmt: skip


# ---------------------------------------------------------------- queue and merge screen


def _visible_pairs(user: User) -> QuerySet[DuplicateCandidate]:
    """Pairs whose two leads exist (a merged lead's row is gone) and are visible to ``user``."""
    visible = leads_selectors.leads_visible_to(user)
    return DuplicateCandidate.objects.filter(
        Exists(visible.filter(pk=OuterRef("lead_a_id"))), Exists(visible.filter(pk=OuterRef("lead_b_id")))
    )


@dataclass(frozen=True)
class QueueItem:
    candidate: DuplicateCandidate
    lead_a: Lead
    lead_b: Lead


def list_queue_visible_to(user: User, *, status: str = CandidateStatus.OPEN, limit: int = 50) -> list[QueueItem]:
    candidates = list(_visible_pairs(user).filter(status=status).order_by("-score", "-id")[:limit])
    ids = {c.lead_a_id for c in candidates} | {c.lead_b_id for c in candidates}
    leads = Lead.objects.in_bulk(ids)
    return [QueueItem(c, leads[c.lead_a_id], leads[c.lead_b_id]) for c in candidates
            if c.lead_a_id in leads and c.lead_b_id in leads]  # fmt: skip


def get_candidate_visible_to(user: User, candidate_id: int) -> QueueItem | None:
    candidate = _visible_pairs(user).filter(pk=candidate_id).first()
    if candidate is None:
        return None
    leads = Lead.objects.select_related("company", "owner", "team").in_bulk([candidate.lead_a_id, candidate.lead_b_id])
    return QueueItem(candidate, leads[candidate.lead_a_id], leads[candidate.lead_b_id])


def list_duplicates_of(user: User, lead_id: int, *, limit: int = 5) -> list[QueueItem]:
    """Open candidates involving ``lead_id`` (the "possible duplicates" box on the lead page)."""
    from django.db.models import Q

    candidates = list(_visible_pairs(user).filter(Q(lead_a_id=lead_id) | Q(lead_b_id=lead_id),
                                                  status=CandidateStatus.OPEN).order_by("-score")[:limit])  # fmt: skip
    ids = {c.lead_a_id for c in candidates} | {c.lead_b_id for c in candidates}
    leads = Lead.objects.in_bulk(ids)
    return [QueueItem(c, leads[c.lead_a_id], leads[c.lead_b_id]) for c in candidates]


def list_merges_into(lead_id: int, *, limit: int = 10) -> list[Merge]:
    return list(Merge.objects.filter(survivor_id=lead_id).order_by("-created_at", "-id")[:limit])


def get_merge(merge_id: int) -> Merge | None:
    return Merge.objects.filter(pk=merge_id).first()


def list_merges_visible_to(user: User, *, limit: int = 20) -> list[Merge]:
    visible = leads_selectors.leads_visible_to(user)
    return list(Merge.objects.filter(Exists(visible.filter(pk=OuterRef("survivor_id"))))
                .order_by("-created_at", "-id")[:limit])  # fmt: skip
