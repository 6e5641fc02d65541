"""Reads of the dedupe context: candidate retrieval (blocking keys, then the pure matcher), the review
queue, the merge screen and a lead's possible duplicates.

Candidate retrieval at 1M leads (p99 ≤ 20 ms): exact keys were already tried by intake. Every lead is
filed in ``dedupe_leadkey`` under its blocking keys (``dedupe.domain.blocking.blocking_keys``, hashed to
signed 64-bit integers, see :func:`key_hash`). One SQL statement takes the incoming lead's keys, drops
those shared by ``MAX_BLOCK_SIZE`` leads or more (a surname like "garcía" with an initial says nothing,
and would fetch thousands of rows: each key's size is counted with a capped index-only scan), ranks
the leads sharing the remaining keys by how many they share and returns the top ``MAX_CANDIDATES``
rows. They are then scored in Python with ``dedupe.domain.compare``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
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
# Keys shared by this many stored leads or more are skipped at lookup (see the module docstring).
MAX_BLOCK_SIZE = 300
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


def candidate_query(keys: Iterable[int], *, exclude_ids: tuple[int, ...] = ()) -> tuple[str, list[Any]]:
    """The SQL returning the stored leads that share most of ``keys`` (at most ``MAX_CANDIDATES`` rows)."""
    sql = (
        "WITH usable AS ("  # noqa: S608 - only constant column names are interpolated
        " SELECT k FROM unnest(%s::bigint[]) AS k"
        " WHERE (SELECT count(*) FROM (SELECT 1 FROM dedupe_leadkey s WHERE s.key = k LIMIT %s) AS capped) < %s),"
        " ranked AS ("
        " SELECT lk.lead_id, count(*) AS shared FROM dedupe_leadkey lk"
        " WHERE lk.key = ANY(ARRAY(SELECT k FROM usable)) AND NOT lk.lead_id = ANY(%s::bigint[])"
        " GROUP BY lk.lead_id ORDER BY shared DESC, lk.lead_id DESC LIMIT %s)"
        f" SELECT {_COLUMNS} FROM ranked JOIN leads_lead l ON l.id = ranked.lead_id"
        " ORDER BY ranked.shared DESC, l.id DESC"
    )
    return sql, [list(keys), MAX_BLOCK_SIZE, MAX_BLOCK_SIZE, list(exclude_ids), MAX_CANDIDATES]


def find_candidates_by_keys(keys: Iterable[int], *, exclude_ids: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """At most ``MAX_CANDIDATES`` stored leads sharing the most of ``keys`` (rows as dicts, best first)."""
    keys = list(keys)
    if not keys:
        return []
    sql, params = candidate_query(keys, exclude_ids=exclude_ids)
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


def best_of(incoming: Any, rows: Iterable[Mapping[str, Any]]) -> tuple[int, matcher_types.Match] | None:
    """(lead id, match) of the best-scoring row for a prepared ``incoming`` at or above review, or None."""
    m = _matcher()
    best: tuple[int, Any] | None = None
    for row in rows:
        result = m.compare(incoming, m.prepare(_record(row, row["id"])))
        if best is None or result.score > best[1].score:
            best = (int(row["id"]), result)
    if best is None or best[1].score < float(m.REVIEW):
        return None
    return best


def best_match(
    values: Mapping[str, Any], *, exclude_ids: tuple[int, ...] = ()
) -> tuple[int, matcher_types.Match] | None:
    """(lead id, match) of the best-scoring candidate at or above the review threshold, or None."""
    incoming = prepare(values, values.get("id", ""))
    return best_of(incoming, find_candidates_by_keys(keys_of(incoming), exclude_ids=exclude_ids))


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
